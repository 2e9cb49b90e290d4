// Drives the official socket.io-client against the Django test project served by
// daphne/uvicorn. usage: node client.js <scenario> <base url> [<second base url>]
// Prints one JSON line with what it saw.
"use strict";
const { io } = require("socket.io-client");

const [scenario, base, other] = process.argv.slice(2);
const deadline = setTimeout(() => finish({ error: "timeout" }), 45000);

function finish(result) {
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

async function login(url, username) {
  const response = await fetch(url + "/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "username=" + encodeURIComponent(username),
  });
  const cookies = response.headers.getSetCookie().map((c) => c.split(";")[0]);
  return cookies.join("; ");
}

function connect(url, options) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { reconnection: false, forceNew: true, ...options });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

function next(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

async function post(url, path, form) {
  const response = await fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return response.status;
}

async function session() {
  const cookie = await login(base, "carol");
  const headers = { cookie, origin: base };
  const polling = await connect(base, { extraHeaders: headers, transports: ["polling"] });
  const ws = await connect(base, { extraHeaders: headers, transports: ["websocket"] });
  const me = await polling.emitWithAck("whoami");
  const meWs = await ws.emitWithAck("whoami");
  await ws.emitWithAck("session_set", "colour", "blue");
  const stored = await (await fetch(base + "/session?key=colour", { headers: { cookie } })).json();
  polling.close();
  ws.close();
  let anonymous;
  try {
    await connect(base, { extraHeaders: { origin: base } });
    anonymous = { connected: true };
  } catch (err) {
    anonymous = { message: err.message, data: err.data };
  }
  finish({ me, meWs, stored, anonymous,
           transports: [polling.io.engine ? "polling" : null, "websocket"] });
}

async function origin() {
  const cookie = await login(base, "dave");
  const result = {};
  for (const transport of ["polling", "websocket"]) {
    try {
      const s = await connect(base, { extraHeaders: { cookie, origin: "http://evil.example" },
                                      transports: [transport] });
      s.close();
      result[transport] = "connected";
    } catch (err) {
      result[transport] = "refused: " + err.message;
    }
    try {  // the same client from the right origin is accepted
      const s = await connect(base, { extraHeaders: { cookie, origin: base },
                                      transports: [transport] });
      result[transport + "_own_origin"] = (await s.emitWithAck("whoami")).user;
      s.close();
    } catch (err) {
      result[transport + "_own_origin"] = "refused: " + err.message;
    }
  }
  finish(result);
}

async function clusterReady(urls) {
  // bounded: every node listens and has heard the others' heartbeats
  for (let i = 0; i < 600; i++) {
    const states = await Promise.all(urls.map(async (u) => (await fetch(u + "/cluster")).json()));
    if (states.every((s) => s.connected && s.nodes >= urls.length - 1)) return states;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("cluster not ready");
}

async function cluster() {
  await clusterReady([base, other]);
  // erin lives on node A, frank on node B (one database: one login works on both)
  const cookie = await login(base, "erin");
  const erin = await connect(base, { extraHeaders: { cookie, origin: base } });
  const frank = await connect(other, { extraHeaders: { cookie, origin: other } });
  await erin.emitWithAck("join", "room-a");
  await frank.emitWithAck("join", "room-b");
  await frank.emitWithAck("join", "shared");
  await erin.emitWithAck("join", "shared");
  // a view on A emits to a room whose member is on B, and the other way round
  const heardB = next(frank, "news");
  const statusA = await post(base, "/broadcast", { room: "room-b", text: "from A" });
  const newsB = await heardB;
  const heardA = next(erin, "news");
  const statusB = await post(other, "/broadcast", { room: "room-a", text: "from B" });
  const newsA = await heardA;
  // a socket handler on A emitting to a room with members on both nodes
  const saidB = next(frank, "said");
  const saidA = next(erin, "said");
  erin.emit("say", "shared", "hello both");
  const said = [await saidA, await saidB];
  // a process that serves nobody (a management command) emits to "shared"
  const commandA = next(erin, "news");
  const commandB = next(frank, "news");
  process.stdout.write("READY\n");
  const command = [await commandA, await commandB];
  erin.close();
  frank.close();
  finish({ statusA, statusB, newsA, newsB, said, command });
}

({ session, origin, cluster })[scenario]().catch((err) => finish({ error: String(err) }));
