"""Helpers for tests/runtime/test_direct_ws.py: a uvicorn server in a thread whose loop and
engine records the test can reach, a websocket spoken byte by byte, a node client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sio_integrations as socketio

from .live import free_port, wait_until

INTEROP_JS = Path(__file__).resolve().parents[1] / "interop" / "js"

# timers long enough that no idle test client is dropped while a test runs
OPTIONS: dict[str, Any] = {"ping_interval": 20, "ping_timeout": 20}


@dataclass
class Served:
    sio: Any
    server: Any  # uvicorn.Server
    loop: asyncio.AbstractEventLoop
    port: int
    scheme: str = "http"
    disconnects: list[tuple[str, str]] = field(default_factory=list)
    connects: list[str] = field(default_factory=list)
    received: dict[str, list[int]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def record(self, sid: str) -> Any:
        """The engine's record of the Socket.IO connection ``sid`` (namespace "/")."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        assert eio_sid is not None, f"no engine session for {sid}"
        return self.sio.eio._clients[eio_sid]

    def is_direct(self, sid: str) -> bool:
        return self.record(sid).direct is not None

    def websocket(self, sid: str) -> Any:
        """The DirectWebSocket serving ``sid`` (None on the host's own path): the engine's
        writer is its bound ``write``."""
        direct = self.record(sid).direct
        return None if direct is None else direct.__self__

    def connections(self) -> int:
        """Connections uvicorn still counts as open (its graceful shutdown waits for them)."""
        return len(self.server.server_state.connections)

    def wait_disconnect(self, count: int, timeout: float = 10) -> tuple[str, str]:
        wait_until(lambda: len(self.disconnects) > count, timeout, "a disconnect")
        return self.disconnects[count]


def build(**options: Any) -> Any:
    """The test app: echo, broadcast, flood, ordered events (see each handler)."""
    sio = socketio.AsyncServer(async_mode="asgi", **{**OPTIONS, **options})
    return sio


def install(sio: Any, served: Served) -> None:
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        served.connects.append(sid)

    async def disconnect(sid: str, reason: str) -> None:
        served.disconnects.append((sid, reason))

    async def echo(sid: str, *args: Any) -> Any:
        return args[0] if len(args) == 1 else tuple(args)

    async def bcast(sid: str, data: Any) -> str:
        await sio.emit("news", data)
        return "sent"

    async def flood(sid: str, count: int, size: int, pause: bool = False) -> float:
        """``count`` broadcasts of ``size`` characters (with ``pause``, the handler lets
        the event loop run between two); returns the seconds it took."""
        payload = "x" * size
        start = time.monotonic()
        for i in range(count):
            await sio.emit("data", [i, payload])
            if pause:
                await asyncio.sleep(0)
        return time.monotonic() - start

    async def seq(sid: str, n: int) -> int:
        if n % 3 == 0:  # some handlers really wait, the others finish inline
            await asyncio.sleep(0.01)
        served.received.setdefault(sid, []).append(n)
        return n

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    sio.on("echo", echo)
    sio.on("bcast", bcast)
    sio.on("flood", flood)
    sio.on("seq", seq)


@contextmanager
def serve(options: dict[str, Any] | None = None, *, files: dict[str, str] | None = None,
          **uvicorn_kwargs: Any) -> Iterator[Served]:
    """Our AsyncServer under uvicorn (default settings unless ``uvicorn_kwargs``), in a
    thread with its own event loop; ``files`` maps URL paths to files served with it."""
    import uvicorn

    sio = build(**(options or {}))
    port = free_port()
    config = uvicorn.Config(socketio.ASGIApp(sio, static_files=files), host="127.0.0.1",
                            port=port, log_level="warning", loop="asyncio", lifespan="off",
                            **uvicorn_kwargs)
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    served = Served(sio=sio, server=server, loop=loop, port=port,
                    scheme="https" if "ssl_certfile" in uvicorn_kwargs else "http")
    install(sio, served)
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), 15, "uvicorn to start")
    assert server.started, "uvicorn did not start"
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(15)
        if not thread.is_alive():  # the server's own background tasks end with the loop
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()


@dataclass
class AiohttpServed(Served):
    runner: Any = None

    def connections(self) -> int:
        """Connections aiohttp still counts as open (its shutdown waits for them)."""
        return len(self.runner.server.connections) if self.runner.server else 0


@contextlib.contextmanager
def serve_aiohttp(options: dict[str, Any] | None = None, *,
                  tls: ssl.SSLContext | None = None,
                  on_prepare: Any = None, files: dict[str, str] | None = None,
                  **runner_kwargs: Any) -> Iterator[AiohttpServed]:
    """Our AsyncServer attached to an aiohttp app, in a thread with its own loop;
    ``files`` maps URL paths to files served with it."""
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", **{**OPTIONS, **(options or {})})
    app = web.Application()
    for url, filename in (files or {}).items():
        async def send_file(request: Any, filename: str = filename) -> Any:
            return web.FileResponse(filename)

        app.router.add_get(url, send_file)
    if on_prepare is not None:
        app.on_response_prepare.append(on_prepare)
    sio.attach(app)
    loop = asyncio.new_event_loop()
    port = free_port()
    runner = web.AppRunner(app, access_log=None, **runner_kwargs)
    served = AiohttpServed(sio=sio, server=None, loop=loop, port=port, runner=runner,
                           scheme="https" if tls is not None else "http")
    install(sio, served)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()

    try:
        served.run(start())
        yield served
    finally:
        if runner.server is not None:
            with contextlib.suppress(Exception):
                served.run(runner.cleanup(), timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        if not thread.is_alive():
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()


def stop(served: Served, timeout: float = 15) -> float:
    """uvicorn's graceful shutdown; returns the seconds it took (fails past ``timeout``)."""
    start = time.monotonic()
    served.server.should_exit = True
    wait_until(lambda: not served.loop.is_running(), timeout, "uvicorn to shut down")
    return time.monotonic() - start


# -- a websocket spoken byte by byte -----------------------------------------------------

def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True,
                 length: int | None = None, rsv: int = 0) -> bytes:
    """One frame as a client puts it on the wire (``length`` overrides the announced one;
    ``rsv`` 4 is RSV1, the permessage-deflate bit)."""
    announced = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if masked else 0
    if announced < 126:
        head += bytes([bit | announced])
    elif announced < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", announced)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", announced)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawWS:
    """An Engine.IO websocket over a plain TCP (or TLS) socket, frames built by hand."""

    def __init__(self, port: int, *, join: bool = True, rcvbuf: int | None = None,
                 tls: ssl.SSLContext | None = None, extra_headers: str = "",
                 upgrade_sid: str | None = None, early: bytes = b"") -> None:
        """``upgrade_sid``: upgrade that long-polling session instead (no handshake read:
        the caller does the probe); ``early``: frames sent in the same write as the
        handshake request."""
        sock = socket.socket()
        if rcvbuf is not None:  # before connect, so the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET /socket.io/?EIO=4&transport=websocket"
            + (f"&sid={upgrade_sid}" if upgrade_sid else "") + " HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra_headers}"
            "\r\n").encode() + early)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during the handshake: {data!r}")
            data += chunk
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.response_head = head.decode("latin-1")
        #: permessage-deflate negotiated: server frames with RSV1 are inflated (a client
        #: keeping its context, RFC 7692's default), ``compressed`` tells the last one's
        self.deflate = "permessage-deflate" in self.response_head.lower()
        self.compressed = False
        self.wire_length = 0
        self._inflater = zlib.decompressobj(-15)
        self.sid = ""
        if upgrade_sid is not None:
            self.eio_sid = upgrade_sid
            return
        opening = self.read_text()
        assert opening.startswith("0{"), opening
        self.eio_sid = json.loads(opening[1:])["sid"]
        if join:
            self.send(client_frame(1, b"40"))
            reply = self.read_text()
            assert reply.startswith("40{"), reply
            self.sid = json.loads(reply[2:])["sid"]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def text(self, message: str) -> None:
        self.send(client_frame(1, message.encode()))

    def _need(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        assert not b1 & 0x80, "a server frame must not be masked"
        assert not b0 & 0x30, "RSV2/RSV3 set"
        assert self.deflate or not b0 & 0x40, "RSV1 set without permessage-deflate"
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._need(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._need(8))[0]
        payload = self._need(length)
        self.wire_length = length  # of the last frame's payload, as sent
        self.compressed = bool(b0 & 0x40)
        if self.compressed:
            assert b0 & 0x80 and b0 & 0x0F in (1, 2), "RSV1 on a fragment or control frame"
            payload = self._inflater.decompress(payload + b"\x00\x00\xff\xff")
        return b0 & 0x0F, payload

    def read_text(self) -> str:
        """The next text message, answering Engine.IO pings on the way."""
        while True:
            opcode, payload = self.read_frame()
            assert opcode == 1, (opcode, payload)
            text = payload.decode()
            if text == "2":
                self.text("3")
                continue
            return text

    def read_close(self, timeout: float = 5) -> int | None:
        """Skip frames until a close frame (its code, or 1005 without one); None when the
        connection ended without one."""
        self.sock.settimeout(timeout)
        try:
            while True:
                opcode, payload = self.read_frame()
                if opcode == 8:
                    return struct.unpack(">H", payload[:2])[0] if payload else 1005
        except ConnectionError:
            return None

    def eof(self, timeout: float = 5) -> bool:
        """True once the server closed TCP (after whatever it still had to say)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# -- the JS socket.io-client -------------------------------------------------------------

NODE_CLIENT = r"""
const { io } = require('socket.io-client');
const job = JSON.parse(process.argv[1]);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (err) => { out({ error: String(err && err.stack || err) }); process.exit(1); };
setTimeout(() => fail('timeout'), job.timeout_ms);
const opts = { forceNew: true, reconnection: false, transports: job.transports,
               rejectUnauthorized: false };
if (job.perMessageDeflate !== undefined) opts.perMessageDeflate = job.perMessageDeflate;
const socket = io(job.url, opts);
const news = [];
socket.on('news', (data) => news.push(data));
socket.on('connect_error', fail);
socket.on('connect', async () => {
  try {
    const engine = socket.io.engine;
    if (engine.transport.name !== 'websocket') {
      await new Promise((resolve) => engine.once('upgrade', resolve));
    }
    const echoes = [];
    for (const value of ['héllo', { n: 1, big: 'y'.repeat(5000) }, [1, 2, 3]]) {
      echoes.push(await socket.timeout(8000).emitWithAck('echo', value));
    }
    await socket.timeout(8000).emitWithAck('bcast', 'from-js');
    while (!news.length) await new Promise((r) => setTimeout(r, 10));
    out({ sid: socket.id, transport: engine.transport.name, echoes, news,
          extensions: engine.transport.ws ? engine.transport.ws.extensions : null });
    // stay connected until the test has looked at the server
    process.stdin.once('data', () => { socket.disconnect(); out({ done: true });
                                      process.exit(0); });
  } catch (err) { fail(err); }
});
"""


class NodeClient:
    def __init__(self, url: str, transports: list[str], *,
                 per_message_deflate: Any = None) -> None:
        from tests.interop.harness import find_node

        node = find_node()  # installs tests/interop/js's pinned packages when missing
        job: dict[str, Any] = {"url": url, "transports": transports, "timeout_ms": 30000}
        if per_message_deflate is not None:
            job["perMessageDeflate"] = per_message_deflate
        self.proc = subprocess.Popen([node, "-e", NODE_CLIENT, json.dumps(job)],
                                     cwd=INTEROP_JS, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self, timeout: float = 35) -> dict[str, Any]:
        assert self.proc.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        assert lines and lines[0].strip(), "node client said nothing"
        item: dict[str, Any] = json.loads(lines[0])
        assert "error" not in item, item["error"]
        return item

    def finish(self, timeout: float = 15) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        try:
            self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
