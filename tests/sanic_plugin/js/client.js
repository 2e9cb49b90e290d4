// Drives the official socket.io-client against a plugin test server (Sanic or Tornado).
// usage: node client.js <base url> <scenario> <alice cookie> <bob cookie>
// Prints one JSON line with what it saw. Login is a cookie (the host's own auth decides).
"use strict";
const { io } = require("socket.io-client");

const [base, scenario, aliceCookie, bobCookie] = process.argv.slice(2);
const deadline = setTimeout(() => finish({ error: "timeout" }), 20000);

function finish(result) {
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

function connect(options) {
  return new Promise((resolve, reject) => {
    const socket = io(base, { reconnection: false, ...options });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

function waitUpgrade(socket) {
  return new Promise((resolve) => {
    if (socket.io.engine.transport.name === "websocket") return resolve();
    socket.io.engine.once("upgrade", () => resolve());
  });
}

async function chat() {
  // alice: long-polling, then upgraded; bob: websocket only
  const alice = await connect({ auth: { token: "a" }, extraHeaders: { Cookie: aliceCookie } });
  const bob = await connect({ auth: { token: "b" }, extraHeaders: { Cookie: bobCookie },
                              transports: ["websocket"] });
  const aliceWho = await alice.emitWithAck("whoami");
  const bobWho = await bob.emitWithAck("whoami");
  const rooms = await alice.emitWithAck("join", "r1");
  await bob.emitWithAck("join", "r1");
  const heard = new Promise((resolve) => bob.once("said", resolve));
  const ack = await alice.emitWithAck("say", { room: "r1", text: "hello" });
  const said = await heard;
  await waitUpgrade(alice);
  const upload = await alice.emitWithAck("upload", Buffer.from([1, 2, 3, 250]), "blob");
  const transports = [alice.io.engine.transport.name, bob.io.engine.transport.name];
  alice.close();
  bob.close();
  finish({
    alice: aliceWho,
    bob: bobWho,
    inRoom: rooms.includes("r1"),
    ack,
    said,
    upload: { name: upload.name, size: upload.size, echo: Array.from(upload.echo),
              binary: Buffer.isBuffer(upload.echo) },
    transports,
  });
}

async function refused() {
  try {
    await connect({ extraHeaders: { Cookie: "user=mallory" } });
    finish({ connected: true });
  } catch (err) {
    finish({ message: err.message, data: err.data });
  }
}

async function withOrigin(origin, transports) {
  try {
    const socket = await connect({ extraHeaders: { Cookie: aliceCookie, Origin: origin },
                                   transports });
    socket.close();
    finish({ connected: true });
  } catch (err) {
    finish({ connected: false, message: err.message });
  }
}

// several websocket clients (multi-worker servers): a broadcast from one reaches all
async function broadcast() {
  const sockets = [];
  const pids = new Set();
  // the kernel hands each accept() to whichever worker wakes first: on a busy machine one
  // worker can win many in a row, so keep connecting (bounded) until both have clients
  for (let i = 0; i < 200 && pids.size < 2; i++) {
    const s = await connect({ extraHeaders: { Cookie: aliceCookie }, transports: ["websocket"] });
    sockets.push(s);
    pids.add((await s.emitWithAck("whoami")).pid);
  }
  const heard = sockets.map((s) => new Promise((resolve) => s.once("news", resolve)));
  sockets[0].emit("broadcast", "to everyone");
  const news = await Promise.all(heard);
  sockets.forEach((s) => s.close());
  finish({ pids: [...pids], clients: sockets.length, news });
}

const scenarios = {
  chat,
  refused,
  broadcast,
  "origin-polling": () => withOrigin("http://evil.example", ["polling"]),
  "origin-websocket": () => withOrigin("http://evil.example", ["websocket"]),
  "same-origin-polling": () => withOrigin(base, ["polling"]),
  "same-origin-websocket": () => withOrigin(base, ["websocket"]),
};
scenarios[scenario]().catch((err) => finish({ error: String(err && err.stack || err) }));
