// The chat page: the official socket.io-client; the session cookie authenticates the socket.
"use strict";
const $ = (id) => document.getElementById(id);
const socket = io();  // same origin, /socket.io/, polling then websocket
let room = null;

function setStatus(text) {
  $("status").textContent = text;
  if (text === "connected") {
    $("status").dataset.transport = socket.io.engine.transport.name;
    socket.io.engine.once("upgrade", (t) => { $("status").dataset.transport = t.name; });
  } else {
    delete $("status").dataset.transport;
  }
}

function showUsers(users) {
  $("users").replaceChildren(...users.map((name) => {
    const li = document.createElement("li");
    li.textContent = name;
    return li;
  }));
}

function join(name) {
  socket.emit("join", name, (reply) => {
    if (!reply.ok) return;
    if (reply.room !== room) $("messages").replaceChildren();
    room = reply.room;
    $("room-name").textContent = room;
    showUsers(reply.users);
  });
}

socket.on("connect", () => {
  setStatus("connected");
  if (room) join(room);  // a restarted server forgot our room
});
socket.on("disconnect", () => setStatus("disconnected"));
socket.on("connect_error", (err) => {
  // refused (logged out): socket.io does not retry; back to the login page
  if (!socket.active) { setStatus("refused"); window.location.assign("/login"); return; }
  setStatus("reconnecting");
});
socket.on("message", (m) => {
  if (m.room !== room) return;
  const li = document.createElement("li");
  li.textContent = `${m.user}: ${m.text}`;
  $("messages").append(li);
});
socket.on("users", (m) => { if (m.room === room) showUsers(m.users); });

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("room").value.trim();
  if (name) join(name);
});
$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (text && room) socket.emit("message", text);
  $("text").value = "";
});
