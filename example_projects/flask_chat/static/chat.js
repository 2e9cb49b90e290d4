// The chat page: the official socket.io-client, its own reconnection, plain DOM.
"use strict";
const $ = (id) => document.getElementById(id);
const socket = io();  // same origin; the session cookie goes with the handshake
let room = null;

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
  $("status").textContent = "connected";
  if (room) join(room);  // a restarted server does not remember our room
});
socket.on("disconnect", () => { $("status").textContent = "disconnected"; });
socket.on("connect_error", () => {
  // refused (logged out): socket.active is false and the client stops retrying
  $("status").textContent = socket.active ? "reconnecting" : "refused";
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
