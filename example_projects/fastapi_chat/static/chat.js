"use strict";
const log = document.getElementById("log");
const roomSelect = document.getElementById("room");
let socket = null;

function line(text, kind) {
  const p = document.createElement("p");
  p.textContent = text;
  if (kind) p.className = kind;
  log.append(p);
  log.scrollTop = log.scrollHeight;
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

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const nickname = new FormData(event.target).get("nickname");
  const response = await fetch("/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nickname }),
  });
  if (!response.ok) return alert("invalid nickname (letters, digits, . _ -)");
  const { token } = await response.json();
  socket = io({ auth: { token } });
  socket.on("connect", async () => {
    event.target.hidden = true;
    document.getElementById("chat").hidden = false;
    document.getElementById("me").textContent = `as ${nickname}`;
    const rooms = await (await fetch("/rooms")).json();
    roomSelect.replaceChildren(...rooms.map((r) => new Option(r, r)));
    await join(roomSelect.value);
  });
  socket.on("connect_error", (err) => line(`cannot connect: ${err.message}`, "error"));
  socket.on("said", (m) => line(`${m.nickname}: ${m.text}`));
  socket.on("joined", (m) => line(`${m.nickname} joined`, "system"));
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
