// Browser side of the demo chat. Plain DOM code on top of the official socket.io-client.
// Every piece of user text goes through textContent, never innerHTML.
"use strict";

const $ = (id) => document.getElementById(id);
const ACK_TIMEOUT_MS = 5000;

let socket = null;
let currentRoom = null;

function show(loggedIn) {
  $("login").hidden = loggedIn;
  $("chat").hidden = !loggedIn;
}

function setStatus(text, ok) {
  $("status").textContent = text;
  $("status").classList.toggle("ok", ok);
  // the transport in use (polling, then websocket once upgraded), for the curious and the tests
  if (ok) {
    const engine = socket.io.engine;
    $("status").dataset.transport = engine.transport.name;
    engine.once("upgrade", (transport) => { $("status").dataset.transport = transport.name; });
  } else {
    delete $("status").dataset.transport;
  }
}

function setRoom(name) {
  currentRoom = name;
  $("room-title").textContent = name ? `# ${name}` : "Choose a room";
  for (const id of ["text", "send", "leave"]) $(id).disabled = !name;
  $("messages").replaceChildren();
  if (!name) $("users").replaceChildren();
  for (const li of $("rooms").children) li.classList.toggle("active", li.dataset.room === name);
  if (name) $("text").focus();
}

function formatTime(ts) {
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function addMessage(msg, state) {
  const li = document.createElement("li");
  if (msg.nickname === null) {
    li.className = "system";
    li.textContent = msg.text;
  } else {
    const time = document.createElement("time");
    time.textContent = msg.ts ? formatTime(msg.ts) : "";
    const who = document.createElement("b");
    who.textContent = msg.nickname;
    const text = document.createElement("span");
    text.textContent = msg.text;
    li.append(time, who, text);
    if (msg.nickname === $("me").textContent) li.classList.add("mine");
  }
  if (state) li.classList.add(state);
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
  return li;
}

function renderRooms(rooms) {
  const list = $("rooms");
  list.replaceChildren(
    ...rooms.map(({ name, users }) => {
      const li = document.createElement("li");
      li.dataset.room = name;
      li.classList.toggle("active", name === currentRoom);
      const label = document.createElement("span");
      label.textContent = `# ${name}`;
      const count = document.createElement("small");
      count.textContent = users;
      li.append(label, count);
      li.addEventListener("click", () => join(name));
      return li;
    }),
  );
}

function renderUsers(users) {
  $("users").replaceChildren(
    ...users.map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      return li;
    }),
  );
}

function join(name) {
  socket.timeout(ACK_TIMEOUT_MS).emit("join", { room: name }, (err, res) => {
    if (err || !res.ok) {
      addMessage({ nickname: null, text: `Could not join: ${err ? "no answer" : res.error}` }, "failed");
      return;
    }
    setRoom(res.room);
    for (const msg of res.history) addMessage(msg);
    renderUsers(res.users);
  });
}

function login(nickname) {
  socket = io({ auth: { nickname } });
  $("me").textContent = nickname;

  socket.on("connect", () => {
    show(true);
    setStatus("connected", true);
    // After a reconnect the server has forgotten us: go back to where we were.
    join(currentRoom || "lobby");
  });
  socket.on("connect_error", (err) => {
    if (!socket.active) {
      // Refused by the server (ConnectionRefusedError): back to the login form.
      $("login-error").textContent = err.message;
      show(false);
      socket = null;
    } else {
      setStatus("offline, retrying…", false);
    }
  });
  socket.on("disconnect", () => setStatus("disconnected, retrying…", false));
  socket.on("rooms", renderRooms);
  socket.on("users", ({ room, users }) => {
    if (room === currentRoom) renderUsers(users);
  });
  socket.on("message", (msg) => {
    if (msg.room === currentRoom) addMessage(msg);
  });
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const nickname = $("nickname").value.trim();
  if (!nickname) return;
  $("login-error").textContent = "";
  login(nickname);
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !currentRoom) return;
  $("text").value = "";
  // Shown at once as pending; confirmed (or marked failed) when the server acknowledges.
  const line = addMessage({ nickname: $("me").textContent, text, ts: Date.now() / 1000 }, "pending");
  socket.timeout(ACK_TIMEOUT_MS).emit("message", { text }, (err, res) => {
    line.classList.remove("pending");
    if (err || !res.ok) {
      line.classList.add("failed");
      line.title = err ? "no acknowledgement from the server" : res.error;
    }
  });
});

$("new-room-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("new-room").value.trim().toLowerCase();
  if (name) join(name);
  $("new-room").value = "";
});

$("leave").addEventListener("click", () => {
  socket.timeout(ACK_TIMEOUT_MS).emit("leave", () => setRoom(null));
});

$("logout").addEventListener("click", () => {
  socket.disconnect();
  socket = null;
  setRoom(null);
  show(false);
  $("nickname").focus();
});
