// Drives the official socket.io-client against a FastAPI app served by uvicorn.
// usage: node client.js <base url> <scenario>; prints one JSON line with what it saw.
"use strict";
const { io } = require("socket.io-client");

const [base, scenario] = process.argv.slice(2);
const deadline = setTimeout(() => finish({ error: "timeout" }), 15000);

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

async function chat() {
  const alice = await connect({ auth: { token: "t-alice" } });
  const bob = await connect({ auth: { token: "t-bob" }, transports: ["websocket"] });
  const rooms = await alice.emitWithAck("join", "r1");
  await bob.emitWithAck("join", "r1");
  const heard = new Promise((resolve) => bob.once("said", resolve));
  const ack = await alice.emitWithAck("say", { room: "r1", text: "hello" });
  const said = await heard;
  const invalid = await alice.emitWithAck("say", { room: "", text: "hello" });
  const upload = await bob.emitWithAck("upload", Buffer.from([1, 2, 3, 250]), "blob");
  const transports = [alice.io.engine.transport.name, bob.io.engine.transport.name];
  alice.close();
  bob.close();
  finish({
    rooms: rooms.includes("r1"),
    ack,
    said,
    invalid: invalid.error,
    upload: { name: upload.name, size: upload.size, echo: Array.from(upload.echo),
              binary: Buffer.isBuffer(upload.echo) },
    transports,
  });
}

async function refused() {
  try {
    await connect({ auth: { token: "nope" } });
    finish({ connected: true });
  } catch (err) {
    finish({ message: err.message, data: err.data });
  }
}

async function withOrigin(origin, transports) {
  try {
    const socket = await connect({ auth: { token: "t-alice" }, transports,
                                   extraHeaders: { Origin: origin } });
    socket.close();
    finish({ connected: true });
  } catch (err) {
    finish({ connected: false, message: err.message });
  }
}

// example_projects/fastapi_chat: log in over HTTP, then chat with the token
async function example() {
  const login = async (nickname) => {
    const response = await fetch(`${base}/login`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ nickname }),
    });
    return (await response.json()).token;
  };
  const ann = await connect({ auth: { token: await login("ann") } });
  const bob = await connect({ auth: { token: await login("bob") } });
  await ann.emitWithAck("join", { room: "python" });
  await bob.emitWithAck("join", { room: "python" });
  const heard = new Promise((resolve) => bob.once("said", resolve));
  const ack = await ann.emitWithAck("say", { room: "python", text: "hi from node" });
  const said = await heard;
  const errorEvent = new Promise((resolve) => ann.once("error", resolve));
  ann.emit("say", { room: "python", text: "" });
  const error = await errorEvent;
  ann.close();
  bob.close();
  finish({ ack, said, error: error.error });
}

const scenarios = {
  example,
  chat,
  refused,
  "origin-polling": () => withOrigin("http://evil.example", ["polling"]),
  "origin-websocket": () => withOrigin("http://evil.example", ["websocket"]),
  // the page's own origin (same host and port) is allowed
  "same-origin-polling": () => withOrigin(base, ["polling"]),
  "same-origin-websocket": () => withOrigin(base, ["websocket"]),
};
scenarios[scenario]().catch((err) => finish({ error: String(err && err.stack || err) }));
