// Drives the official socket.io-client against a Flask app served by socketio.run().
// usage: node client.js <base url> <scenario>; prints one JSON line with what it saw.
"use strict";
const { io } = require("socket.io-client");

const [base, scenario] = process.argv.slice(2);
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

// GET a page and return the session cookie it set ("name=value")
async function cookieFrom(path, cookie) {
  const response = await fetch(base + path, { headers: cookie ? { Cookie: cookie } : {} });
  const set = response.headers.getSetCookie();
  return set.length ? set[0].split(";")[0] : cookie;
}

async function whoami(socket) {
  return (await socket.emitWithAck("whoami")).user;
}

// a logged-in browser session: the cookie reaches current_user on both transports,
// and a logout over HTTP is seen by the next event (server-side session store)
async function login() {
  const cookie = await cookieFrom("/login/alice");
  const polling = await connect({ extraHeaders: { Cookie: cookie } });
  const websocket = await connect({ extraHeaders: { Cookie: cookie },
                                    transports: ["websocket"] });
  const anonymous = await connect({ transports: ["websocket"] });
  const before = [await whoami(polling), await whoami(websocket), await whoami(anonymous)];
  const secret = await websocket.emitWithAck("secret");
  const upgraded = polling.io.engine.transport.name;
  await cookieFrom("/logout", cookie);
  const after = [await whoami(polling), await whoami(websocket)];
  const refused = await websocket.emitWithAck("soft_secret");
  for (const s of [polling, websocket, anonymous]) s.close();
  finish({ before, secret, after, refused, upgraded });
}

async function rooms() {
  const a = await connect({ transports: ["websocket"] });
  const b = await connect({});
  const heard = new Promise((resolve) => b.once("joined", resolve));
  await b.emitWithAck("join", "r1");
  const joinedB = await heard;
  const roomsA = await a.emitWithAck("join", "r1");
  a.close();
  b.close();
  finish({ joinedB, roomsA: roomsA.includes("r1") });
}

async function withOrigin(origin, transports) {
  try {
    const socket = await connect({ transports, extraHeaders: { Origin: origin } });
    socket.close();
    finish({ connected: true });
  } catch (err) {
    finish({ connected: false, message: err.message });
  }
}

// example_projects/flask_chat: log in through the form, then chat in a room
async function example() {
  const login = async (username, password) => {
    const response = await fetch(`${base}/login`, {
      method: "POST", redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username, password }).toString(),
    });
    const set = response.headers.getSetCookie();
    return { status: response.status, cookie: set.length ? set[0].split(";")[0] : null };
  };
  const wrong = await login("ann", "nope");
  let anonymous;
  try {
    (await connect({})).close();
    anonymous = "connected";
  } catch (err) {
    anonymous = err.message;
  }
  const ann = await connect({ extraHeaders: { Cookie: (await login("ann", "chat")).cookie } });
  const bob = await connect({ extraHeaders: { Cookie: (await login("bob", "chat")).cookie },
                              transports: ["websocket"] });
  const joinedAnn = await ann.emitWithAck("join", "lobby");
  const usersSeen = new Promise((resolve) => ann.on("users", (m) => {
    if (m.users.length === 2) resolve(m.users);
  }));
  const joinedBob = await bob.emitWithAck("join", "lobby");
  const users = await usersSeen;
  const heard = new Promise((resolve) => ann.once("message", resolve));
  bob.emit("message", "hello ann");
  const message = await heard;
  const left = new Promise((resolve) => ann.on("users", (m) => {
    if (m.users.length === 1) resolve(m.users);
  }));
  bob.close();
  const after = await left;
  ann.close();
  finish({ wrong: wrong.status, anonymous, joinedAnn, joinedBob: joinedBob.users, users,
           message, after });
}

const scenarios = {
  example,
  login,
  rooms,
  "origin-polling": () => withOrigin("https://evil.example", ["polling"]),
  "origin-websocket": () => withOrigin("https://evil.example", ["websocket"]),
  "same-origin-polling": () => withOrigin(base, ["polling"]),
  "same-origin-websocket": () => withOrigin(base, ["websocket"]),
};

scenarios[scenario]().catch((err) => finish({ error: String(err && err.stack || err) }));
