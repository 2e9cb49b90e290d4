"""Websocket echo throughput: AsyncEngine under uvicorn vs a raw uvicorn ASGI echo app.

Not part of the normal test run (set ``ENGINE_PERF=1`` to run it as a test). As a script::

    python -m tests.runtime.test_engine_perf [--clients 100] [--seconds 5]

Each server runs in its own process; the load generator is one asyncio process with
``--clients`` closed-loop websocket clients (send one text frame, wait for the echo),
speaking RFC 6455 by hand so the generator stays cheaper than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- servers (run in a subprocess: python -m tests.runtime.test_engine_perf --serve KIND) --
async def raw_echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def engine_echo_app() -> Any:
    from sio_integrations.options import EngineOptions
    from sio_integrations.runtime._async.engine import AsyncEngine
    from sio_integrations.runtime.asgi import ASGIApp

    class Echo:
        engine: AsyncEngine

        async def engine_connect(self, sid: str, environ: dict[str, Any]) -> None:
            pass

        async def engine_message(self, sid: str, data: str | bytes) -> None:
            await self.engine.send(sid, data)

        async def engine_disconnect(self, sid: str, reason: str) -> None:
            pass

    handler = Echo()
    handler.engine = AsyncEngine(EngineOptions(ping_interval=60), handler, async_mode="asgi")
    return ASGIApp(handler.engine, socketio_path="engine.io")


def engineio_echo_app() -> Any:
    """python-engineio's own server, for comparison only."""
    import engineio

    eio = engineio.AsyncServer(async_mode="asgi", ping_interval=60)

    @eio.on("message")
    async def message(sid: str, data: Any) -> None:
        await eio.send(sid, data)

    return engineio.ASGIApp(eio, engineio_path="engine.io")


def serve(kind: str, port: int) -> None:
    import uvicorn

    apps = {"raw": lambda: raw_echo_app, "engine": engine_echo_app,
            "engineio": engineio_echo_app}
    app = apps[kind]()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


# -- load generator -------------------------------------------------------------------------
def _frame(payload: bytes) -> bytes:
    n = len(payload)
    assert n < 126
    key = os.urandom(4)
    mask = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return bytes((0x81, 0x80 | n)) + key + body


class _Client(asyncio.Protocol):
    """One closed-loop client. After the handshake it only counts bytes: every echo has the
    same length (no pings arrive: the engine pings every 60 s here), and the request frame
    is built once, so the generator costs less per message than the server."""

    def __init__(self, path: str, engine: bool, counter: list[int], ready: asyncio.Future[None]):
        self.path, self.counter, self.ready = path, counter, ready
        self.buf = b""
        self.upgraded = False
        self.opened = not engine
        message = (b"4" if engine else b"") + b"hello world"
        self.frame = _frame(message)
        self.reply_len = 2 + len(message)
        self.pending = 0
        self.running = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def start(self) -> None:
        self.running = True
        self.transport.write(self.frame)

    def data_received(self, data: bytes) -> None:
        if self.running:
            self.pending += len(data)
            while self.pending >= self.reply_len:
                self.pending -= self.reply_len
                self.counter[0] += 1
                self.transport.write(self.frame)
            return
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.upgraded, self.buf = True, self.buf[end + 4:]
        if not self.opened and len(self.buf) >= 2 and len(self.buf) >= 2 + (self.buf[1] & 0x7F):
            self.buf = self.buf[2 + (self.buf[1] & 0x7F):]  # the open packet
            self.opened = True
        if self.opened and not self.ready.done():
            self.ready.set_result(None)


async def load(
    port: int, engine: bool, clients: int, seconds: float, pid: int
) -> tuple[float, float]:
    """Messages per second, and messages per CPU-second of the server process."""
    loop = asyncio.get_running_loop()
    path = "/engine.io/?EIO=4&transport=websocket" if engine else "/"
    counter = [0]
    protocols = []
    for _ in range(clients):
        ready: asyncio.Future[None] = loop.create_future()
        _, proto = await loop.create_connection(
            lambda r=ready: _Client(path, engine, counter, r), "127.0.0.1", port
        )
        await asyncio.wait_for(ready, 10)
        protocols.append(proto)
    for proto in protocols:
        proto.start()
    await asyncio.sleep(1.0)  # warm-up
    start_count, start, cpu = counter[0], time.perf_counter(), _cpu(pid)
    await asyncio.sleep(seconds)
    count = counter[0] - start_count
    rate = count / (time.perf_counter() - start)
    per_cpu = count / max(_cpu(pid) - cpu, 1e-6)
    for proto in protocols:
        proto.running = False
        proto.transport.close()
    return rate, per_cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, clients: int, seconds: float) -> tuple[float, float]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.test_engine_perf", "--serve", kind,
         "--port", str(port)],
        cwd=ROOT, env=env,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:
            runner = asyncio.run
        rate, per_cpu = runner(load(port, kind != "raw", clients, seconds, proc.pid))
        print(f"{kind}: {rate:.0f} msgs/s, {per_cpu:.0f} msgs per server CPU-second",
              file=sys.stderr)
        return rate, per_cpu
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(os.environ.get("ENGINE_PERF") != "1", reason="set ENGINE_PERF=1")
def test_engine_websocket_echo_is_at_least_70_percent_of_raw_uvicorn() -> None:
    # per server CPU-second: robust to other processes sharing the machine
    raw = measure("raw", 100, 3)[1]
    engine = measure("engine", 100, 3)[1]
    assert engine >= 0.7 * raw, (engine, raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["raw", "engine", "engineio"])
    parser.add_argument("--with-engineio", action="store_true",
                        help="also measure python-engineio's AsyncServer")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    results: dict[str, list[tuple[float, float]]] = {"raw": [], "engine": []}
    if args.with_engineio:
        results["engineio"] = []
    for _ in range(args.rounds):  # interleaved, so background load hits both alike
        for kind in results:
            results[kind].append(measure(kind, args.clients, args.seconds))
    best = {k: (max(r[0] for r in v), max(r[1] for r in v)) for k, v in results.items()}
    print(json.dumps({
        "clients": args.clients,
        "raw_msgs_per_s": round(best["raw"][0]),
        "engine_msgs_per_s": round(best["engine"][0]),
        "ratio_msgs_per_s": round(best["engine"][0] / best["raw"][0], 3),
        "raw_msgs_per_cpu_s": round(best["raw"][1]),
        "engine_msgs_per_cpu_s": round(best["engine"][1]),
        "ratio_per_cpu": round(best["engine"][1] / best["raw"][1], 3),
        **({"engineio_msgs_per_s": round(best["engineio"][0]),
            "engineio_msgs_per_cpu_s": round(best["engineio"][1])} if args.with_engineio else {}),
    }))


if __name__ == "__main__":
    main()
