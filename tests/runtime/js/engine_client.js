// Connects engine.io-client to our engine, sends text and binary, prints one JSON line.
// usage: node engine_client.js <url> <path> <transports comma separated>
const { Socket } = require("engine.io-client");

const [url, path, transports] = process.argv.slice(2);
const result = { opened: false, upgraded: false, transport: null, received: [], error: null };
const socket = new Socket(url, { path, transports: transports.split(",") });
const timer = setTimeout(() => finish("timeout"), 10000);

function finish(error) {
  clearTimeout(timer);
  result.error = error || null;
  result.transport = socket.transport ? socket.transport.name : null;
  console.log(JSON.stringify(result));
  socket.close();
  setTimeout(() => process.exit(0), 50);
}

function sendAll() {
  socket.send("hello");
  socket.send(Uint8Array.from([1, 2, 3, 4]));
}

socket.on("open", () => {
  result.opened = true;
  if (socket.transport.name === "websocket" || transports.indexOf("websocket") < 0) {
    sendAll();
  }
});
socket.on("upgrade", () => {
  result.upgraded = true;
  sendAll();
});
socket.on("message", (data) => {
  if (typeof data === "string") {
    result.received.push(data);
  } else {
    result.received.push({ binary: Array.from(new Uint8Array(data)) });
  }
  if (result.received.length === 2) {
    finish(null);
  }
});
socket.on("error", (err) => finish(String(err)));
