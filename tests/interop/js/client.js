'use strict';
// Scripted socket.io-client peer for tests/interop.
//
// Reads one JSON job from its first argument (or, without one, from stdin):
//   {"url": "http://127.0.0.1:PORT", "transport": "polling"|"websocket"|"upgrade",
//    "scenarios": ["connect", "auth", ...], "timeout_ms": 15000, "parser": "msgpack"?}
// runs the scenarios concurrently and prints one JSON line per scenario:
//   {"scenario": NAME, "ok": true, "result": {...}} or {"scenario": NAME, "ok": false, "error": "..."}
// then {"done": true}. Scenarios only observe; the Python tests decide what is right.
// Binary values are printed as {"$bin": "<hex>"}.

const { io, Manager } = require('socket.io-client');

const ACK_MS = 8000;

function transportOptions(transport) {
  if (transport === 'polling') return { transports: ['polling'] };
  if (transport === 'websocket') return { transports: ['websocket'] };
  if (transport === 'upgrade') return { transports: ['polling', 'websocket'], upgrade: true };
  throw new Error(`unknown transport ${transport}`);
}

function toJson(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString('hex') };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString('hex') };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value === undefined ? null : value;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class Ctx {
  constructor(job) {
    this.url = job.url;
    this.transport = job.transport;
    // socket.io-msgpack-parser on both sides (server: serializer='msgpack')
    this.parser = job.parser === 'msgpack' ? require('socket.io-msgpack-parser') : undefined;
    this.sockets = [];
  }

  options(extra) {
    return {
      forceNew: true,
      reconnection: false,
      timeout: ACK_MS,
      ...transportOptions(this.transport),
      ...(this.parser ? { parser: this.parser } : {}),
      ...(extra || {}),
    };
  }

  socket(nsp, extra) {
    const s = io(this.url + (nsp || '/'), this.options(extra));
    this.sockets.push(s);
    return s;
  }

  manager(extra) {
    const m = new Manager(this.url, this.options(extra));
    return m;
  }

  // Resolves with the socket on 'connect', rejects with {message, data} on 'connect_error'.
  connected(s) {
    return withTimeout(new Promise((resolve, reject) => {
      if (s.connected) { resolve(s); return; }
      s.once('connect', () => resolve(s));
      s.once('connect_error', (err) => reject(err));
    }), ACK_MS, 'connect');
  }

  async connect(nsp, extra) {
    const s = this.socket(nsp, extra);
    await this.connected(s);
    const transports = (extra && extra.transports) || transportOptions(this.transport).transports;
    if (transports.length > 1) await this.upgraded(s);
    return s;
  }

  // Waits until the engine runs over websocket (only meaningful for 'upgrade').
  upgraded(s) {
    const engine = s.io.engine;
    if (engine.transport.name === 'websocket') return Promise.resolve();
    return withTimeout(new Promise((resolve) => engine.once('upgrade', () => resolve())),
      ACK_MS, 'upgrade');
  }

  // Connect expecting a refusal: resolves with the error's message and data.
  async refused(nsp, extra) {
    const s = this.socket(nsp, extra);
    try {
      await this.connected(s);
    } catch (err) {
      return { message: err.message, data: err.data === undefined ? null : err.data };
    }
    return { message: null, data: null, unexpectedly_connected: true };
  }

  // Emit with an ack and resolve with the list of ack arguments.
  ack(s, event, ...args) {
    return new Promise((resolve, reject) => {
      s.timeout(ACK_MS).emit(event, ...args, (err, ...resp) => {
        if (err) reject(new Error(`no ack for ${event}: ${err.message}`));
        else resolve(resp);
      });
    });
  }

  async ack1(s, event, ...args) {
    return (await this.ack(s, event, ...args))[0];
  }

  next(s, event) {
    return withTimeout(new Promise((resolve) => s.once(event, (...args) => resolve(args))),
      ACK_MS, `event ${event}`);
  }

  collect(s, event) {
    const seen = [];
    s.on(event, (...args) => seen.push(args.length === 1 ? args[0] : args));
    return seen;
  }

  close() {
    for (const s of this.sockets) s.disconnect();
  }
}

const scenarios = {
  async connect(ctx) {
    const s = await ctx.connect('/', { query: { q: 'x' } });
    const who = await ctx.ack1(s, 'whoami', 'arg');
    const sendAck = await ctx.ack(s, 'message', 'hello');
    return { id: s.id, who, send_ack: sendAck, engine_transport: s.io.engine.transport.name };
  },

  async auth(ctx) {
    const auth = { token: 'abc', nested: { n: 1, list: [1, 'a', null] } };
    const s = await ctx.connect('/', { auth, query: { q: 'x y' } });
    return { got: await ctx.ack1(s, 'get_auth') };
  },

  async namespace(ctx) {
    const m = ctx.manager();
    const root = m.socket('/');
    const chat = m.socket('/chat');
    ctx.sockets.push(root, chat);
    await Promise.all([ctx.connected(root), ctx.connected(chat)]);
    const rootMsgs = ctx.collect(root, 'ns_msg');
    const chatMsgs = ctx.collect(chat, 'ns_msg');
    const rootEcho = await ctx.ack1(root, 'ns_echo', 'r');
    const chatEcho = await ctx.ack1(chat, 'ns_echo', 'c');
    const pushed = await ctx.ack1(chat, 'ns_push', 'p');
    await ctx.ack1(root, 'whoami'); // packets are FIFO on the shared engine connection
    return {
      root_id: root.id, chat_id: chat.id, root_echo: rootEcho, chat_echo: chatEcho,
      pushed, root_msgs: rootMsgs, chat_msgs: chatMsgs,
      same_engine: root.io.engine === chat.io.engine,
    };
  },

  // Leaving one namespace of a multiplexed connection, by the server then by the client.
  async namespace_leave(ctx) {
    const m = ctx.manager();
    const root = m.socket('/');
    const chat = m.socket('/chat');
    ctx.sockets.push(root, chat);
    await Promise.all([ctx.connected(root), ctx.connected(chat)]);
    const chatId = chat.id;
    // The server drops /chat only: the / socket on the same connection lives on.
    const chatGone = ctx.next(chat, 'disconnect');
    chat.emit('kick_me');
    const [chatReason] = await chatGone;
    const rootAfterKick = await ctx.ack1(root, 'ns_echo', 'still');
    // The client leaves a re-joined /chat on its own; / still lives on.
    const chat2 = m.socket('/chat');
    ctx.sockets.push(chat2);
    await ctx.connected(chat2);
    const chat2Id = chat2.id;
    chat2.disconnect();
    let chat2Log = null;
    for (let i = 0; i < 50; i += 1) {
      chat2Log = await ctx.ack1(root, 'get_log', chat2Id);
      if (chat2Log.disconnect.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      chat_reason: chatReason, root_after_kick: rootAfterKick, root_connected: root.connected,
      chat2_log: chat2Log, chat_log: await ctx.ack1(root, 'get_log', chatId),
    };
  },

  async reject(ctx) {
    const root = await ctx.refused('/', { auth: { reject: true } });
    const chat = await ctx.refused('/chat', { auth: { reject: true } });
    const after = await ctx.connect('/');
    return { root, chat, after_ok: (await ctx.ack1(after, 'whoami')).sid === after.id };
  },

  async acks(ctx) {
    const s = await ctx.connect('/');
    s.on('server_asks', (data, cb) => cb({ got: data, from: 'js' }));
    s.on('server_asks_cb', (a, b, cb) => cb('r1', { r2: [a, b] }));
    const multi = await ctx.ack(s, 'echo_ack', 1, 'two', { three: [3] });
    const none = await ctx.ack(s, 'noreturn', 1);
    const called = await ctx.ack1(s, 'please_call', { x: 1 });
    const cbResult = ctx.next(s, 'cb_result');
    const scheduled = await ctx.ack1(s, 'please_emit_cb', 'A', 2);
    const viaPromise = await s.timeout(ACK_MS).emitWithAck('echo_ack', 'p');
    return { multi, none, called, scheduled, cb_result: (await cbResult)[0], via_promise: viaPromise };
  },

  async binary(ctx) {
    const s = await ctx.connect('/');
    const payload = {
      list: [{ b: Buffer.from([0, 1, 2, 255]) }, Buffer.alloc(3000, 7)],
      s: 'x',
      n: null,
    };
    const echoed = await ctx.ack1(s, 'bin_echo', payload, Buffer.from('tail'));
    const push = ctx.next(s, 'bin_push');
    const sent = await ctx.ack1(s, 'want_bin');
    const pushed = await push;
    // The client acks a server call() with binary: a BINARY_ACK from the client.
    let question = null;
    s.on('server_asks_bin', (q, cb) => {
      question = q;
      cb({ answer: Buffer.from([1, 2, 3]), list: [Buffer.from('x')] });
    });
    const called = await ctx.ack1(s, 'please_call_bin');
    return {
      echoed: toJson(echoed),
      sent,
      pushed: toJson(pushed),
      pushed_is_buffer: Buffer.isBuffer(pushed[0]),
      question: toJson(question),
      called: toJson(called),
    };
  },

  // forceBase64: binary goes as "b<base64>" text frames even over websocket.
  async binary_base64(ctx) {
    const s = await ctx.connect('/', { forceBase64: true });
    const echoed = await ctx.ack1(s, 'bin_echo', { list: [{ b: Buffer.from([0, 1, 2, 255]) }] });
    const push = ctx.next(s, 'bin_push');
    await ctx.ack1(s, 'want_bin');
    return { echoed: toJson(echoed), pushed: toJson(await push) };
  },

  // Idle for a while on a server with a short pingInterval: the session must survive.
  async heartbeat(ctx) {
    const s = await ctx.connect('/');
    let pings = 0;
    s.io.on('ping', () => { pings += 1; });
    const reasons = ctx.collect(s, 'disconnect');
    await new Promise((r) => setTimeout(r, 2500));
    const who = await ctx.ack1(s, 'whoami');
    return {
      pings, reasons, connected: s.connected, same_sid: who.sid === s.id,
      ping_interval: s.io.engine._pingInterval, ping_timeout: s.io.engine._pingTimeout,
    };
  },

  // catch-all handler, sio.send(), emit to a list of rooms, non-ASCII text.
  async misc(ctx) {
    const s = await ctx.connect('/');
    const caught = await ctx.ack1(s, 'not_registered', 1, { z: Buffer.from([9]) });
    const message = ctx.next(s, 'message');
    const sendAck = await ctx.ack1(s, 'send_me', { hi: 'there' });
    const tag = `${process.pid}-${Date.now()}-${ctx.transport}`;
    const multi = ctx.collect(s, 'multi');
    await ctx.ack1(s, 'multi_room', [`mr1-${tag}`, `mr2-${tag}`]);
    await ctx.ack1(s, 'whoami');
    const text = 'héllo wörld 中文 🎉 \u2028 "quoted" \\ end';
    const unicode = await ctx.ack(s, 'echo_ack', text, { [text]: [text] });
    const unicodeEvent = await ctx.ack1(s, 'événement-🎉', text);
    return {
      caught, message: (await message)[0], send_ack: sendAck, multi, text,
      unicode, unicode_event: unicodeEvent,
    };
  },

  // A handler that outlives pingInterval + pingTimeout must not cost its client the
  // session, nor delay another client.
  async slow_handler(ctx) {
    const [slow, other] = await Promise.all([ctx.connect('/'), ctx.connect('/')]);
    let pings = 0;
    slow.io.on('ping', () => { pings += 1; });
    const reasons = ctx.collect(slow, 'disconnect');
    const started = Date.now();
    const slept = ctx.ack1(slow, 'sleep_for', 2.5);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await ctx.ack1(other, 'whoami');
    const otherLatency = Date.now() - t0;
    return {
      slept: await slept, elapsed_ms: Date.now() - started, other_latency_ms: otherLatency,
      pings, reasons, connected: slow.connected,
    };
  },

  // Traffic both ways from the first moment, so that it spans the upgrade (no waiting for it).
  async stream(ctx) {
    const n = 300;
    const s = ctx.socket('/');
    await ctx.connected(s);
    const ticks = ctx.collect(s, 'tick');
    const done = ctx.next(s, 'tick_done');
    const started = await ctx.ack1(s, 'stream_to_me', n, 0.002);
    for (let i = 0; i < n; i += 1) s.emit('stream_in', i);
    await done;
    let received = [];
    for (let i = 0; i < 50; i += 1) {
      received = await ctx.ack1(s, 'stream_in_result');
      if (received.length >= n) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return { n, started, ticks, received, final_transport: s.io.engine.transport.name };
  },

  // One binary broadcast to a room whose members use different transports and parsers'
  // binary modes: each must get the same bytes.
  async mixed_broadcast(ctx) {
    const room = `mixed-${process.pid}-${Date.now()}-${ctx.transport}`;
    const variants = {
      polling: { transports: ['polling'] },
      websocket: { transports: ['websocket'] },
      upgrade: { transports: ['polling', 'websocket'] },
      ws_base64: { transports: ['websocket'], forceBase64: true },
    };
    const names = Object.keys(variants);
    const sockets = await Promise.all(names.map((k) => ctx.connect('/', variants[k])));
    await Promise.all(sockets.map((s) => ctx.ack1(s, 'join', room)));
    const got = sockets.map((s) => ctx.next(s, 'room_bin'));
    await ctx.ack1(sockets[0], 'broadcast_bin', room);
    const results = await Promise.all(got);
    const out = {};
    names.forEach((k, i) => { out[k] = toJson(results[i][0]); });
    return out;
  },

  // Fifty clients at once: concurrent handshakes, acks and one broadcast to all of them.
  async crowd(ctx) {
    const n = 50;
    const room = `crowd-${process.pid}-${Date.now()}-${ctx.transport}`;
    const sockets = await Promise.all(Array.from({ length: n }, () => ctx.connect('/')));
    const echoes = await Promise.all(sockets.map((s, i) => ctx.ack1(s, 'echo_ack', i)));
    await Promise.all(sockets.map((s) => ctx.ack1(s, 'join', room)));
    const got = sockets.map((s) => ctx.collect(s, 'room_msg'));
    const first = sockets.map((s) => ctx.next(s, 'room_msg'));
    await ctx.ack1(sockets[0], 'broadcast', { room, msg: 'all', skip_self: false });
    await Promise.all(first);
    await Promise.all(sockets.map((s) => ctx.ack1(s, 'whoami')));
    return {
      n, echoes, distinct_ids: new Set(sockets.map((s) => s.id)).size,
      counts: got.map((g) => g.length),
    };
  },

  // The server is restarted under the client (by the test): it must reconnect by itself.
  async reconnect(ctx) {
    const s = ctx.socket('/', {
      reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500,
    });
    await ctx.connected(s);
    if (ctx.transport === 'upgrade') await ctx.upgraded(s);
    const firstId = s.id;
    const gone = new Promise((resolve) => s.once('disconnect', (reason) => resolve(reason)));
    const back = new Promise((resolve) => s.io.once('reconnect', (attempt) => resolve(attempt)));
    const reason = await withTimeout(gone, 20000, 'disconnect');
    const attempts = await withTimeout(back, 20000, 'reconnect');
    await ctx.connected(s);
    if (ctx.transport === 'upgrade') await ctx.upgraded(s); // a new engine: upgrades again
    const who = await ctx.ack1(s, 'whoami');
    return { first_id: firstId, reason, attempts, second_id: s.id, who };
  },

  async rooms(ctx) {
    const tag = `${process.pid}-${Date.now()}-${ctx.transport}`;
    const r1 = `room-a-${tag}`;
    const r2 = `room-b-${tag}`;
    const [a, b, c] = await Promise.all([ctx.connect('/'), ctx.connect('/'), ctx.connect('/')]);
    const got = { a: ctx.collect(a, 'room_msg'), b: ctx.collect(b, 'room_msg'), c: ctx.collect(c, 'room_msg') };
    const roomsA = await ctx.ack1(a, 'join', r1);
    const roomsB = await ctx.ack1(b, 'join', r1);
    const roomsC = await ctx.ack1(c, 'join', r2);
    const bGetsM1 = ctx.next(b, 'room_msg');
    await ctx.ack1(a, 'broadcast', { room: r1, msg: 'm1', skip_self: true });
    await bGetsM1;
    const cGetsM2 = ctx.next(c, 'room_msg');
    await ctx.ack1(a, 'broadcast', { room: r2, msg: 'm2', skip_self: false });
    await cGetsM2;
    const roomsBAfterLeave = await ctx.ack1(b, 'leave', r1);
    const aGetsM3 = ctx.next(a, 'room_msg');
    await ctx.ack1(a, 'broadcast', { room: r1, msg: 'm3', skip_self: false });
    await aGetsM3;
    await ctx.ack1(a, 'close_room', r2);
    await ctx.ack1(a, 'broadcast', { room: r2, msg: 'm4', skip_self: false });
    // A round trip on every socket flushes anything still in flight to it.
    await Promise.all([a, b, c].map((s) => ctx.ack1(s, 'whoami')));
    return {
      ids: { a: a.id, b: b.id, c: c.id },
      rooms: { a: roomsA, b: roomsB, c: roomsC, b_after_leave: roomsBAfterLeave },
      rooms_names: [r1, r2],
      got,
    };
  },

  async disconnect(ctx) {
    const kicked = await ctx.connect('/');
    const observer = await ctx.connect('/');
    const kickedId = kicked.id;
    const reason = ctx.next(kicked, 'disconnect');
    kicked.emit('kick_me');
    const [clientReason] = await reason;
    const [leaver, busyLeaver] = await Promise.all([ctx.connect('/'), ctx.connect('/')]);
    const leaverId = leaver.id;
    const busyId = busyLeaver.id;
    leaver.disconnect();
    // The busy one leaves while the server still runs a slow handler of its own
    // ('ordered' 0 sleeps 0.3 s): its DISCONNECT packet was sent before the close all the same.
    busyLeaver.emit('ordered', 0);
    busyLeaver.disconnect();
    // The server learns about a client-side disconnect asynchronously: poll, bounded.
    const logOf = async (id) => {
      let log = null;
      for (let i = 0; i < 50; i += 1) {
        log = await ctx.ack1(observer, 'get_log', id);
        if (log.disconnect.length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return log;
    };
    return {
      client_reason: clientReason,
      kicked_connected: kicked.connected,
      kicked_log: await logOf(kickedId),
      leaver_log: await logOf(leaverId),
      busy_leaver_log: await logOf(busyId),
    };
  },

  async large(ctx) {
    const s = await ctx.connect('/');
    const bigStr = await ctx.ack1(s, 'size', 'x'.repeat(1000000));
    const bigBin = await ctx.ack1(s, 'size', Buffer.alloc(1000000, 1));
    const victim = await ctx.connect('/');
    const reason = ctx.next(victim, 'disconnect');
    victim.emit('size', 'y'.repeat(3000000));
    let victimReason;
    try {
      [victimReason] = await reason;
    } catch (err) {
      victimReason = `not disconnected: ${err.message}`;
    }
    const fresh = await ctx.connect('/');
    const freshOk = await ctx.ack1(fresh, 'size', 'small');
    const firstOk = await ctx.ack1(s, 'size', 'still');
    return { big_str: bigStr, big_bin: bigBin, victim_reason: victimReason, fresh_ok: freshOk, first_ok: firstOk };
  },

  // Python-engineio caps a polling payload at 16 packets; the JS client batches freely.
  async burst(ctx) {
    const s = await ctx.connect('/');
    const acks = [];
    for (let i = 0; i < 40; i += 1) acks.push(ctx.ack1(s, 'echo_ack', i));
    return { acks: await Promise.all(acks) };
  },

  // -- behaviours where we deliberately differ from python-socketio ------------
  async order(ctx) {
    const s = await ctx.connect('/');
    const acks = [];
    for (let i = 0; i < 20; i += 1) acks.push(ctx.ack1(s, 'ordered', i));
    const ackValues = await Promise.all(acks);
    return { acks: ackValues, order: await ctx.ack1(s, 'get_order') };
  },

  async unknown_namespace(ctx) {
    return ctx.refused('/no-such-namespace');
  },

  // -- seed examples ----------------------------------------------------------
  async seed_chat(ctx) {
    const [a, b] = await Promise.all([
      ctx.connect('/', { auth: { name: 'alice' } }), ctx.connect('/', { auth: { name: 'bob' } }),
    ]);
    const bGot = ctx.next(b, 'chat_message');
    const aGot = ctx.next(a, 'chat_message');
    const ack = await ctx.ack(a, 'chat_message', { text: 'hello from a' });
    return { ack, a_got: (await aGot)[0], b_got: (await bGot)[0] };
  },
};

async function runOne(job, name) {
  const ctx = new Ctx(job);
  const fn = scenarios[name];
  try {
    if (!fn) throw new Error(`unknown scenario ${name}`);
    const result = await withTimeout(fn(ctx), job.timeout_ms || 20000, `scenario ${name}`);
    return { scenario: name, ok: true, result: toJson(result) };
  } catch (err) {
    return { scenario: name, ok: false, error: String(err && err.stack ? err.stack : err) };
  } finally {
    ctx.close();
  }
}

async function main() {
  let raw = process.argv[2];
  if (raw === undefined) {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    raw = Buffer.concat(chunks).toString('utf8');
  }
  const job = JSON.parse(raw);
  await Promise.all(job.scenarios.map(async (name) => {
    const line = await runOne(job, name);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }));
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
  // Lingering timers or sockets must not keep the harness alive.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
