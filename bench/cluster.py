"""Benchmark: cross-node broadcast deliveries/s over Redis, ours vs python-socketio.

    python bench/cluster.py            # 3 repetitions, 1 s warm-up + 5 s windows
    python bench/cluster.py --quick    # smoke: 1 repetition, short windows

Two server processes per implementation share one redis-server: a publisher node P and a
receiver node R. ``--clients`` websocket clients (bench/wsclient.py) are connected to R and
in room ``feed``; a control client on P asks for bursts of ``--burst`` broadcasts to that
room and waits until every client received all of them before asking for the next (closed
loop: the broker never piles up). Reported: deliveries per second at R's clients
(clients x broadcasts / time). R runs alone on CPU 0; P, redis-server and this load
generator share CPU 1. Implementations are interleaved and their order alternates between
repetitions; medians and the ratio ours/ref are printed and written to
bench/results/cluster.md. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from procstat import proc_cpu  # noqa: E402
from wsclient import SioClient, connect, parse_ack_id  # noqa: E402

HOST = "127.0.0.1"
TICK_PREFIX = b'2["tick"'


# -- the server nodes ----------------------------------------------------------------------


def serve(impl: str, url: str, port: int) -> None:
    """Run one node (this script re-executed with ``--node``)."""
    import uvicorn

    if impl == "ours":
        sys.path.insert(0, ROOT)
        import sio_integrations as socketio

        sio: Any = socketio.AsyncServer(async_mode="asgi", message_queue=url)
        app: Any = socketio.ASGIApp(sio, on_startup=sio.startup)
    else:
        import socketio  # type: ignore[no-redef]

        sio = socketio.AsyncServer(async_mode="asgi",
                                   client_manager=socketio.AsyncRedisManager(url))
        app = socketio.ASGIApp(sio)

    tick = {"n": 1, "s": "hello"}

    @sio.event  # type: ignore[untyped-decorator]
    async def join(sid: str, room: str) -> bool:
        await sio.enter_room(sid, room)
        return True

    @sio.event  # type: ignore[untyped-decorator]
    async def burst(sid: str, k: int) -> int:
        for _ in range(k):
            await sio.emit("tick", tick, to="feed")
        return k

    uvicorn.run(app, host=HOST, port=port, log_level="warning", lifespan="on",
                loop="asyncio", ws="websockets")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


def spawn(cmd: list[str], cpu: int | None) -> subprocess.Popen[bytes]:
    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return subprocess.Popen(cmd, cwd=ROOT, preexec_fn=pin, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


# -- the load generator --------------------------------------------------------------------


class Feed:
    """Counts ticks over every client; ``reached`` fires when ``count >= target``."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 1 << 62
        self.reached = asyncio.Event()

    def on_message(self, _client: SioClient, msg: bytes) -> None:
        if msg.startswith(TICK_PREFIX):
            self.count += 1
            if self.count >= self.target:
                self.reached.set()


async def call(client: SioClient, event_json: bytes, timeout: float) -> None:
    done = asyncio.Event()
    expect = -1

    def on_msg(_c: SioClient, msg: bytes) -> None:
        if parse_ack_id(msg) == expect:
            done.set()

    client.on_message = on_msg
    expect = client.emit(event_json)
    await asyncio.wait_for(done.wait(), timeout)


async def measure(p_port: int, r_port: int, clients_n: int, burst: int, warmup: float,
                  window: float, pids: tuple[int, int]) -> tuple[float, float, float]:
    """Deliveries/s, and the CPU share the receiving and publishing nodes used."""
    feed = Feed()
    clients = [await connect(HOST, r_port, feed.on_message, 10) for _ in range(clients_n)]
    control = await connect(HOST, p_port, lambda c, m: None, 10)
    try:
        for c in clients:
            await call(c, b'["join","feed"]', 10)
            c.on_message = feed.on_message

        async def one_burst(k: int, timeout: float = 30) -> None:
            feed.target = feed.count + k * clients_n
            feed.reached.clear()
            await call(control, f'["burst",{k}]'.encode(), timeout)
            await asyncio.wait_for(feed.reached.wait(), timeout)

        # both nodes subscribed: a single tick reaches everyone
        for _ in range(50):
            try:
                await one_burst(1, 1)
                break
            except asyncio.TimeoutError:
                continue
        end = time.monotonic() + warmup
        while time.monotonic() < end:
            await one_burst(burst)
        start_count, start = feed.count, time.monotonic()
        cpu0 = [proc_cpu(pid) for pid in pids]
        end = start + window
        while time.monotonic() < end:
            await one_burst(burst)
        elapsed = time.monotonic() - start
        cpu = [(proc_cpu(pid) - c) / elapsed for pid, c in zip(pids, cpu0, strict=True)]
        return (feed.count - start_count) / elapsed, cpu[0], cpu[1]
    finally:
        for c in [*clients, control]:
            c.close()


def run_one(impl: str, url: str, args: argparse.Namespace) -> tuple[float, float, float]:
    cpus = sorted(os.sched_getaffinity(0))
    r_cpu, other = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    p_port, r_port = free_port(), free_port()
    me = [sys.executable, os.path.abspath(__file__), "--node", impl, "--redis", url]
    receiver = spawn([*me, "--port", str(r_port)], r_cpu)
    publisher = spawn([*me, "--port", str(p_port)], other)
    try:
        wait_port(r_port)
        wait_port(p_port)
        return asyncio.run(measure(p_port, r_port, args.clients, args.burst, args.warmup,
                                   args.seconds, (receiver.pid, publisher.pid)))
    finally:
        stop(publisher)
        stop(receiver)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    if args.node:
        serve(args.node, args.redis, args.port)
        return
    if args.quick:
        args.reps, args.seconds, args.warmup = 1, 1.5, 0.3
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[1]})  # the load generator shares CPU 1
    folder = tempfile.mkdtemp(prefix="sio-bench-redis-")
    port = free_port()
    redis = spawn([binary, "--port", str(port), "--bind", HOST, "--save", "",
                   "--appendonly", "no", "--dir", folder], cpus[1] if len(cpus) >= 2 else None)
    results: dict[str, list[tuple[float, float, float]]] = {"ours": [], "ref": []}
    try:
        wait_port(port)
        url = f"redis://{HOST}:{port}/0"
        for rep in range(args.reps):
            order = ["ours", "ref"] if rep % 2 == 0 else ["ref", "ours"]
            for impl in order:
                rate, r_cpu, p_cpu = run_one(impl, url, args)
                results[impl].append((rate, r_cpu, p_cpu))
                print(f"rep {rep + 1} {impl}: {rate:,.0f} deliveries/s (receiver CPU "
                      f"{r_cpu:.0%}, publisher CPU {p_cpu:.0%})", flush=True)
    finally:
        stop(redis)
        shutil.rmtree(folder, ignore_errors=True)
    report = render(args, results)
    print(report)
    if not args.quick:
        with open(os.path.join(HERE, "results", "cluster.md"), "w") as f:
            f.write(report)


def render(args: argparse.Namespace, results: dict[str, list[tuple[float, float, float]]]) -> str:
    import platform
    from importlib.metadata import version

    def med(impl: str, i: int) -> float:
        return statistics.median(r[i] for r in results[impl])

    def per_cpu(impl: str) -> float:
        return statistics.median(r[0] / r[1] for r in results[impl] if r[1] > 0)

    rows = "\n".join(
        f"| {impl} | {med(impl, 0):,.0f} | {med(impl, 1):.0%} | {med(impl, 2):.0%} | "
        f"{per_cpu(impl):,.0f} | {', '.join(f'{r[0]:,.0f}' for r in results[impl])} |"
        for impl in results)
    return (
        "# Cross-node broadcast over Redis\n\n"
        f"`python bench/cluster.py` ({args.reps} repetitions, {args.seconds:g} s windows, "
        f"{args.clients} clients on the receiving node, bursts of {args.burst} broadcasts; "
        f"python {platform.python_version()}, python-socketio {version('python-socketio')}, "
        f"{os.cpu_count()} CPUs).\n\n"
        "| implementation | deliveries/s (median) | receiving node CPU | publishing node CPU "
        "| deliveries per receiving-node CPU second | runs |\n|---|---|---|---|---|---|\n"
        f"{rows}\n\n"
        f"**ours / python-socketio: {med('ours', 0) / med('ref', 0):.2f}x deliveries/s, "
        f"{per_cpu('ours') / per_cpu('ref'):.2f}x deliveries per receiving-node CPU "
        "second**\n\n"
        "ours = `AsyncServer(message_queue=url)`; ref = python-socketio's "
        "`AsyncServer(client_manager=AsyncRedisManager(url))`; both under uvicorn. The "
        "receiving node has CPU 0 to itself; the publishing node, redis-server and the load "
        "generator share CPU 1, so when the receiving node is not saturated the load "
        "generator side is the limit and the CPU-second figure is the fairer comparison.\n"
    )


if __name__ == "__main__":
    main()
