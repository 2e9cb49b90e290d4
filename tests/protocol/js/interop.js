// Encodes and decodes Socket.IO packets with the reference JS parsers, for the Python tests.
// stdin: a JSON array of tasks; stdout: a JSON array of results, one per task.
//   {op: "encode", parser: "default"|"msgpack", packet: {type, nsp, data?, id?}}
//     -> {frames: [frame...]}
//   {op: "decode", parser, frames: [frame...]} -> {packets: [packet...]} or {error}
// Binary values travel as {"$bin": base64}, undefined as {"$undef": true}; a text frame is
// {"text": string}, a binary frame {"$bin": base64}.
"use strict";

const defaultParser = require("socket.io-parser");
const msgpackParser = require("socket.io-msgpack-parser");

const parsers = { default: defaultParser, msgpack: msgpackParser };

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    if (typeof value.$bin === "string") return Buffer.from(value.$bin, "base64");
    if (value.$undef === true) return undefined;
    const out = {};
    for (const key of Object.keys(value)) out[key] = revive(value[key]);
    return out;
  }
  return value;
}

function describe(value) {
  if (value === undefined) return { $undef: true };
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (Array.isArray(value)) return value.map(describe);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = describe(value[key]);
    return out;
  }
  return value;
}

function encode(parser, packet) {
  const frames = new parser.Encoder().encode(revive(packet));
  return frames.map((f) => (typeof f === "string" ? { text: f } : describe(f)));
}

function decode(parser, frames) {
  const decoder = new parser.Decoder();
  const packets = [];
  decoder.on("decoded", (p) => packets.push(describe(p)));
  for (const frame of frames) {
    decoder.add(typeof frame.text === "string" ? frame.text : revive(frame));
  }
  return packets;
}

function run(task) {
  const parser = parsers[task.parser];
  try {
    if (task.op === "encode") return { frames: encode(parser, task.packet) };
    return { packets: decode(parser, task.frames) };
  } catch (err) {
    return { error: String(err && err.message) };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(run)));
});
