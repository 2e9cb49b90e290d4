// The contract page: #status, #join-form, #send-form, #messages, #users (see
// docs/browser_tests.md). Plain DOM on the official socket.io-client; text via textContent.
"use strict";
const $ = (id) => document.getElementById(id);
const socket = io();
let room = null;

function status(text) {
  $("status").textContent = text;
  if (text === "connected") {
    $("status").dataset.transport = socket.io.engine.transport.name;
    socket.io.engine.once("upgrade", (t) => { $("status").dataset.transport = t.name; });
  } else {
    delete $("status").dataset.transport;
  }
}

function showUsers(users) {
  $("users").replaceChildren(...users.map((u) => {
    const li = document.createElement("li");
    li.textContent = u;
    return li;
  }));
}

function join(name) {
  socket.emit("join", name, (reply) => {
    if (!reply.ok) return;
    if (reply.room !== room) $("messages").replaceChildren();
    room = reply.room;
    $("room-name").textContent = room;
    showUsers(reply.users);  // the "users" broadcast may have come before this answer
  });
}

socket.on("connect", () => {
  status("connected");
  if (room) join(room);  // the server forgot us if it restarted
});
socket.on("disconnect", () => status("disconnected"));
socket.on("connect_error", () => status(socket.active ? "reconnecting" : "refused"));
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
