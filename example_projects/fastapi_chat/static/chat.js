"use strict";
const log = document.getElementById("log");
const roomSelect = document.getElementById("room");
const loginForm = document.getElementById("login");
const statusText = document.getElementById("status");
let socket = null;

function line(text, kind) {
  const p = document.createElement("p");
  p.textContent = text;
  if (kind) p.className = kind;
  log.append(p);
  log.scrollTop = log.scrollHeight;
}

function setStatus(text) {
  // exactly "connected" while connected; data-transport says polling or websocket
  statusText.textContent = text;
  statusText.classList.toggle("ok", text === "connected");
  if (text === "connected") {
    const engine = socket.io.engine;
    statusText.dataset.transport = engine.transport.name;
    engine.once("upgrade", (transport) => { statusText.dataset.transport = transport.name; });
  } else {
    delete statusText.dataset.transport;
  }
}

function renderUsers(users) {
  document.getElementById("users").replaceChildren(...users.map((name) => {
    const li = document.createElement("li");
    li.textContent = name;
    return li;
  }));
}

function showError(reply) {
  // the server's answer to a refused event: validation errors or an HTTP-style error
  const detail = Array.isArray(reply.detail)
    ? reply.detail.map((e) => `${e.loc.join(".")}: ${e.msg}`).join("; ")
    : reply.detail;
  line(`${reply.event} refused: ${detail}`, "error");
}

async function join(room) {
  const history = await socket.emitWithAck("join", { room });
  if (history.error) return showError(history);
  log.replaceChildren();
  line(`you joined ${room}`, "system");
  for (const m of history) line(`${m.nickname}: ${m.text}`);
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const nickname = new FormData(loginForm).get("nickname");
  const response = await fetch("/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nickname }),
  });
  if (!response.ok) return alert("invalid nickname (letters, digits, . _ -)");
  const { token } = await response.json();
  if (socket) socket.close();
  socket = io({ auth: { token } });
  socket.on("connect", async () => {
    loginForm.hidden = true;
    document.getElementById("chat").hidden = false;
    document.getElementById("me").textContent = `as ${nickname}`;
    setStatus("connected");
    const current = roomSelect.value;
    const rooms = await (await fetch("/rooms")).json();
    roomSelect.replaceChildren(...rooms.map((r) => new Option(r, r)));
    if (rooms.includes(current)) roomSelect.value = current;  // back where we were
    await join(roomSelect.value);
  });
  socket.on("disconnect", () => setStatus("disconnected"));
  socket.on("connect_error", (err) => {
    line(`cannot connect: ${err.message}`, "error");
    if (socket.active) {
      setStatus("reconnecting");
    } else {
      // refused (the token is unknown, e.g. after a server restart): log in again
      setStatus("logged out");
      loginForm.hidden = false;
    }
  });
  socket.on("said", (m) => line(`${m.nickname}: ${m.text}`));
  socket.on("joined", (m) => line(`${m.nickname} joined`, "system"));
  socket.on("users", (m) => { if (m.room === roomSelect.value) renderUsers(m.users); });
  socket.on("error", showError);
});

roomSelect.addEventListener("change", () => join(roomSelect.value));

document.getElementById("say").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  const reply = await socket.emitWithAck("say", { room: roomSelect.value, text: input.value });
  if (reply.error) return showError(reply);
  line(`${reply.nickname}: ${reply.text}`);
  input.value = "";
});
