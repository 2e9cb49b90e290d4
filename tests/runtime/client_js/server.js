// The JS socket.io server that tests/runtime/test_client_js.py drives our clients against.
// env: PORT (0: any free port), PING_INTERVAL / PING_TIMEOUT (ms), TRANSPORTS ("polling",
// "websocket" or both, comma separated). Prints "PORT <n>" once listening.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
  transports: (process.env.TRANSPORTS || "polling,websocket").split(","),
});

const records = [];        // what "record" received, in order (this process only)
const attempts = {};       // id -> deliveries seen by "flaky"

function common(socket) {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit("echo_reply", ...args);
  });
  socket.on("record", (item, ack) => {
    records.push(item);
    if (ack) ack(records.length);
  });
  socket.on("records", (ack) => ack(records));
  socket.on("auth", (ack) => ack(socket.handshake.auth));
  socket.on("handshake", (ack) => ack({
    header: socket.handshake.headers["x-test"] || null,
    query: socket.handshake.query.q || null,
    transport: socket.conn.transport.name,
  }));
  // asks the client, answers with every argument of the client's acknowledgement
  socket.on("ask_client", (event, args, ack) => {
    socket.timeout(5000).emit(event, ...args, (err, ...answer) => {
      ack(err ? { error: String(err) } : { answer });
    });
  });
  socket.on("join", (room, ack) => { socket.join(room); ack(); });
  socket.on("to_room", (room, data) => { io.of(socket.nsp.name).to(room).emit("room_msg", data); });
  socket.on("kick", () => socket.disconnect());
  // answers only from the (n+1)th delivery of an id: tests at-least-once retries
  socket.on("flaky", (id, n, ack) => {
    attempts[id] = (attempts[id] || 0) + 1;
    if (attempts[id] > n) { records.push(id); ack(attempts[id]); }
  });
  socket.on("attempts", (ack) => ack(attempts));
}

io.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "bad") {
    const err = new Error("not authorized");
    err.data = { code: 42, token: "bad" };
    return next(err);
  }
  next();
});
io.on("connection", (socket) => {
  common(socket);
  socket.emit("welcome", { nsp: "/", sid: socket.id });
});

const chat = io.of("/chat");
chat.on("connection", (socket) => {
  common(socket);
  socket.emit("welcome", { nsp: "/chat", sid: socket.id });
});

io.of("/private").use((socket, next) => {
  const err = new Error("private namespace");
  err.data = { reason: "members only" };
  next(err);
});

httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => { io.close(); process.exit(0); });
