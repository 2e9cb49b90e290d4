// Benchmark server: the official Node.js socket.io server running the same application as
// bench/server.py, as a reference. One process, 127.0.0.1, a port the kernel picks; prints
// "PORT <n>" once it listens and runs until SIGTERM/SIGINT. Not a test: see docs/benchmarks.md.
//
//   node bench/node/server.js [--ping-interval 25000] [--ping-timeout 20000]
//
// Events (shared with bench/loadgen.py):
//   echo(data) -> ack(data)            (binary attachments are acked with the same bytes)
//   join(room) -> ack(true)            enters the room
//   bcast({room, k}) -> ack(k)         emits "tick" k times to the room
"use strict";

const http = require("http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const TICK = { n: 1, s: "hello" };
const httpServer = http.createServer();
const io = new Server(httpServer, {
  // the same heartbeat and size limits as the Python servers (python-socketio's defaults)
  pingInterval: option("--ping-interval", 25000),
  pingTimeout: option("--ping-timeout", 20000),
  maxHttpBufferSize: 1e6,
  transports: ["polling", "websocket"],
  serveClient: false,
});

io.on("connection", (socket) => {
  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("bcast", (data, ack) => {
    const k = Number(data.k);
    for (let i = 0; i < k; i++) io.to(data.room).emit("tick", TICK);
    if (typeof ack === "function") ack(k);
  });
});

httpServer.listen({ host: "127.0.0.1", port: 0, backlog: 2048 }, () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
