// The chat page (example page contract): #status, #join-form, #send-form, #messages, #users.
// The socket authenticates with the login cookie the browser sends; socket.io-client
// reconnects by itself after a server restart.
"use strict";
const byId = (id) => document.getElementById(id);
const socket = io();
let currentRoom = null;

function setStatus(text) {
  byId("status").textContent = text;
}

function listItems(list, texts) {
  list.replaceChildren(...texts.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
}

async function join(room) {
  const reply = await socket.emitWithAck("join", room);
  if (!reply.ok) return;
  if (reply.room !== currentRoom) byId("messages").replaceChildren();
  currentRoom = reply.room;
  byId("room-name").textContent = currentRoom;
  listItems(byId("users"), reply.users);
}

socket.on("connect", () => {
  setStatus("connected");
  if (currentRoom) join(currentRoom);  // a restarted server has forgotten the room
});
socket.io.on("reconnect_attempt", () => setStatus("reconnecting"));
socket.on("disconnect", () => setStatus("disconnected"));
socket.on("connect_error", (err) => {
  // refused (logged out): socket.io-client does not retry, so go log in again
  if (!socket.active) window.location.assign("/login");
  else setStatus("reconnecting");
});
socket.on("message", (message) => {
  if (message.room !== currentRoom) return;
  const item = document.createElement("li");
  item.textContent = `${message.user}: ${message.text}`;
  byId("messages").append(item);
});
socket.on("users", (update) => {
  if (update.room === currentRoom) listItems(byId("users"), update.users);
});

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const room = byId("room").value.trim();
  if (room) join(room);
});
byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = byId("text").value.trim();
  if (text && currentRoom) socket.emit("message", text);
  byId("text").value = "";
});
