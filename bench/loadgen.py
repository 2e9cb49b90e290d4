"""Load generator: runs one scenario against one running server, prints one JSON line.

    python bench/loadgen.py --port 8000 --server-pid 1234 --scenario echo100 [--warmup 2 ...]

Scenarios (see bench/scenarios.py; N is the number after the kind):
  idle<N>:   RSS of the server after one warm-up client, then with N idle clients connected
             and, when the server sends heartbeats, after every client has seen at least one
             ping (KiB per connection, heartbeats included);
  bcast<N>:  N clients join room ``bench``; a separate trigger client emits
             ``bcast {"room": "bench", "k": K}``, the server emits ``tick`` K times to the room;
             the trigger keeps at most two batches in flight (flow control on deliveries, so
             server queues stay bounded); deliveries/s counted across all clients;
  echo<N>:   closed loop, each of N websocket clients emits ``echo`` and waits for its ack
             before emitting again; acks/s and round-trip percentiles;
  bin<N>:    the same with one 64 KiB binary attachment per emit, acked with the same bytes;
  poll<N>:   the echo loop over Engine.IO long-polling (bench/pollclient.py), never upgraded;
  thread<N>: the echo loop against a threading-mode server (the runner starts that one).
Each scenario reports the server's CPU use (from /proc) and ours, so a reader can see whether
the server was saturated and the generator was not. Not a test; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from pollclient import connect_polling, leave_all
from procstat import Window, rss_kib, wait_server_idle
from scenarios import Scenario, parse
from wsclient import (
    Counter,
    SioClient,
    connect,
    encode_frame,
    encode_frame_zero_mask,
    parse_ack_id,
)

HOST = "127.0.0.1"
ECHO = b'["echo",{"n":1,"s":"hello"}]'
TICK = {"n": 1, "s": "hello"}
ECHO_ACK = [TICK]
TICK_PREFIX = b'2["tick"'
PAYLOAD = bytes(range(256)) * 256  # 64 KiB attachment
BIN_FRAME = encode_frame_zero_mask(PAYLOAD)  # built once (see encode_frame_zero_mask)
BIN_EVENT = b'["echo",{"_placeholder":true,"num":0}]'
CONNECT_BATCH = 64  # handshakes in flight at once (listen backlogs differ between servers)


def ignore(_client: Any, _msg: bytes) -> None:
    pass


async def connect_many(
    port: int,
    n: int,
    timeout: float,
    opener: Callable[..., Awaitable[Any]] = connect,
    max_failures: int = 0,
) -> list[Any]:
    sem = asyncio.Semaphore(CONNECT_BATCH)

    async def one() -> Any:
        async with sem:
            return await opener(HOST, port, ignore, timeout)

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    clients = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, BaseException)]
    if len(errors) > max_failures:
        close_all(clients)
        raise ConnectionError(f"{len(errors)}/{n} connections failed, first: {errors[0]!r}")
    return clients


def close_all(clients: list[Any]) -> None:
    for c in clients:
        c.close()


async def ack_all(clients: list[SioClient], event_json: bytes, timeout: float) -> None:
    """Every client emits ``event_json`` with an ack; wait until all acks are back."""
    done = asyncio.Event()
    pending = {"n": len(clients)}

    def on_msg(c: SioClient, msg: bytes) -> None:
        if parse_ack_id(msg) == c.expect:
            c.expect = -1
            pending["n"] -= 1
            if pending["n"] == 0:
                done.set()

    for c in clients:
        c.on_message = on_msg
        c.expect = c.emit(event_json)
    await asyncio.wait_for(done.wait(), timeout + len(clients) / 500)
    for c in clients:
        c.on_message = ignore


class Spy:
    """py-spy over the server during a measured window (``--py-spy OUT``), else nothing."""

    def __init__(self, out: str, pid: int) -> None:
        self.out = out
        self.pid = pid
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, seconds: float) -> None:
        if not self.out or self.proc is not None:
            return
        exe = shutil.which("py-spy") or "/root/.pyenv/shims/py-spy"  # as bench/run.py
        cmd = [exe, "record", "-p", str(self.pid), "-d", str(max(1, round(seconds)))]
        cmd += ["-r", "500", "-f", "raw", "--nonblocking", "-o", self.out]
        with open(self.out + ".log", "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)

    async def finish(self, timeout: float) -> None:
        if self.proc is None:
            return
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


# -- idle memory ---------------------------------------------------------------------------


async def phase_idle(
    port: int, pid: int, n: int, ping_interval: float, timeout: float
) -> dict[str, Any]:
    warm = await connect(HOST, port, ignore, timeout)
    await ack_all([warm], ECHO, timeout)
    warm.close()
    await wait_server_idle(pid)
    before = rss_kib(pid)
    t0 = time.monotonic()
    # a slow handshake is no error for a memory figure: a longer bound per connection, and
    # up to 1% may fail (a server busy with thousands of heartbeats); the rest are counted
    clients: list[SioClient] = await connect_many(port, n, 3 * timeout, max_failures=n // 100)
    connect_s = time.monotonic() - t0
    failed = n - len(clients)
    n = len(clients)
    try:
        if ping_interval > 0:
            # heartbeats included: every connection has been pinged (and answered) once
            deadline = time.monotonic() + 2 * ping_interval + timeout
            while any(c.pings == 0 for c in clients):
                if time.monotonic() > deadline:
                    seen = sum(1 for c in clients if c.pings)
                    raise TimeoutError(f"only {seen}/{n} clients were pinged")
                await asyncio.sleep(0.1)
        await wait_server_idle(pid)
        after = rss_kib(pid)
    finally:
        close_all(clients)
    return {
        "clients": n,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_conn": (after - before) / n,
        "connects_per_s": n / connect_s,
        "failed_connects": failed,
        "ping_interval_s": ping_interval,
    }


# -- broadcast -----------------------------------------------------------------------------


class Deliveries(Counter):
    """Broadcast deliveries (counted inside the clients) plus the trigger's acks."""

    def __init__(self) -> None:
        super().__init__(b"4" + TICK_PREFIX)
        self.acks = 0

    def on_trigger(self, _c: SioClient, msg: bytes) -> None:
        if msg[:1] == b"3":
            self.acks += 1
            self.progress.set()


async def check_broadcast(clients: list[SioClient], trigger: SioClient, timeout: float) -> int:
    """One broadcast before measuring: every member gets it, and its content is right.
    Returns the size of one delivery's websocket frame."""
    check = Counter(b"4" + TICK_PREFIX)
    for c in clients[1:]:
        c.counter = check
    got: list[bytes] = []
    acked: list[bytes] = []
    clients[0].on_message = lambda _c, msg: got.append(msg)
    trigger.on_message = lambda _c, msg: acked.append(msg)
    trigger.emit(b'["bcast",{"room":"bench","k":1}]')
    deadline = time.monotonic() + timeout
    while check.count < len(clients) - 1 or not got or not acked:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"check broadcast: {check.count + len(got)}/{len(clients)} delivered, "
                f"{len(acked)} ack"
            )
        await asyncio.sleep(0.005)
    for c in clients:
        c.counter = None
        c.on_message = ignore
    trigger.on_message = ignore
    if json.loads(got[0][1:]) != ["tick", TICK]:
        raise RuntimeError(f"broadcast delivered {got[0]!r}")
    return len(check.frame)


def set_rcvlowat(clients: list[SioClient], nbytes: int) -> None:
    """Wake the generator for a client only once ``nbytes`` are waiting (SO_RCVLOWAT).

    During the broadcast the generator's cost is mostly one socket read per wake-up, not
    the bytes; waiting for half a batch reads several deliveries at once. Half a batch
    (not a whole one) keeps two batches in flight: the server is still sending the second
    half of batch s when the last deliveries of batch s-1 are read. The price: deliveries
    are counted in steps of half a batch per client, so the window's edges are off by up
    to ``k / 2 * clients`` deliveries (large against a slow server). Opt-in (--rcvlowat).
    """
    for c in clients:
        if c.transport is not None:
            sock = c.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, max(1, nbytes))


async def phase_broadcast(
    port: int,
    pid: int,
    clients: list[SioClient],
    k: int,
    warmup: float,
    measure: float,
    timeout: float,
    spy: Spy,
    rcvlowat: bool,
) -> Any:
    n = len(clients)
    await ack_all(clients, b'["join","bench"]', timeout)
    trigger = await connect(HOST, port, ignore, timeout)
    try:
        frame_size = await check_broadcast(clients, trigger, timeout)
    except BaseException:
        trigger.close()
        raise
    d = Deliveries()
    for c in clients:
        c.counter = d
    if rcvlowat and k >= 2:
        set_rcvlowat(clients, k // 2 * frame_size)
    trigger.on_message = d.on_trigger
    request = b'["bcast",{"room":"bench","k":%d}]' % k
    per_batch = k * n
    sent = 0
    stop_at = time.monotonic() + warmup + measure
    marks: list[Window] = []

    async def mark_later() -> None:
        await asyncio.sleep(warmup)
        marks.append(Window(pid, d.count))
        spy.start(measure)
        await asyncio.sleep(measure)
        marks.append(Window(pid, d.count))

    marker = asyncio.ensure_future(mark_later())
    try:
        while time.monotonic() < stop_at or len(marks) < 2:
            # at most two batches in flight: the previous one must be fully delivered
            if sent - d.acks <= 1 and d.count >= (sent - 1) * per_batch:
                trigger.emit(request)
                sent += 1
                continue
            d.threshold = (sent - 1) * per_batch
            d.progress.clear()
            if sent - d.acks <= 1 and d.count >= d.threshold:
                continue
            try:
                await asyncio.wait_for(d.progress.wait(), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(
                    f"broadcast stalled: {d.count}/{sent * per_batch} deliveries, "
                    f"{d.acks}/{sent} acks"
                ) from None
        # drain: everything sent must arrive (bounded)
        if rcvlowat:
            set_rcvlowat(clients, 1)
        d.threshold = sent * per_batch
        deadline = time.monotonic() + timeout
        while d.count < sent * per_batch and time.monotonic() < deadline:
            d.progress.clear()
            try:
                await asyncio.wait_for(d.progress.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
    finally:
        marker.cancel()
        trigger.close()
        for c in clients:
            c.counter = None
    result: dict[str, Any] = dict(marks[0].rate(marks[1]))
    result.update(
        clients=n,
        k=k,
        batches=sent,
        expected=sent * per_batch,
        delivered=d.count,
        lost=sent * per_batch - d.count,
    )
    return result


class ClosedLoop:
    """N clients, one request in flight each; the next goes out when the answer is in."""

    def __init__(self) -> None:
        self.acks = 0
        self.bad = 0
        self.bad_payload = 0
        self.running = True
        self.outstanding = 0
        self.drained = asyncio.Event()
        self.recording = False
        self.latencies: list[float] = []  # seconds, inside the measured window only

    def attach(self, c: Any) -> None:
        raise NotImplementedError

    def send(self, c: Any) -> None:
        raise NotImplementedError

    def completed(self, c: Any, now: float, ack_id: int, payload_ok: bool) -> None:
        if self.recording:
            self.latencies.append(now - c.sent_at)
        if ack_id != c.expect:
            self.bad += 1
        elif not payload_ok:
            self.bad_payload += 1
        self.acks += 1
        if self.running:
            c.sent_at = now
            self.send(c)
        else:
            c.expect = -1
            self.outstanding -= 1
            if self.outstanding == 0:
                self.drained.set()


class EchoLoop(ClosedLoop):
    """Small echo: ``42<id>["echo",{..}]`` -> ``43<id>[{..}]`` (websocket or polling)."""

    def attach(self, c: Any) -> None:
        c.on_message = self.on_ack

    def send(self, c: Any) -> None:
        c.expect = c.emit(ECHO)

    def on_ack(self, c: Any, msg: bytes) -> None:
        now = perf_counter()
        ack_id = parse_ack_id(msg)
        if ack_id < 0:
            return
        # payload sampled: a server that acks with wrong data is caught
        ok = bool(ack_id & 63) or json.loads(msg[msg.find(b"[") :]) == ECHO_ACK
        self.completed(c, now, ack_id, ok)


class BinLoop(ClosedLoop):
    """64 KiB binary echo: ``451-<id>["echo",{placeholder}]`` + one binary frame, answered
    by ``461-<id>[{placeholder}]`` + the same bytes."""

    def attach(self, c: SioClient) -> None:
        c.on_message = self.on_header
        c.on_binary = self.on_attachment

    def send(self, c: SioClient) -> None:
        ack_id = c.next_id
        c.next_id += 1
        c.expect = ack_id
        c.write_frames(encode_frame(b"451-%d" % ack_id + BIN_EVENT) + BIN_FRAME)

    def on_header(self, c: SioClient, msg: bytes) -> None:
        if msg[:1] == b"6":  # binary ack header: 61-<id>[..]
            c.pending = int(msg[msg.find(b"-") + 1 : msg.find(b"[")])
        elif msg[:1] == b"3":
            self.bad_payload += 1  # acked without the attachment

    def on_attachment(self, c: SioClient, data: bytes) -> None:
        now = perf_counter()
        ack_id, c.pending = c.pending, -1
        self.completed(c, now, ack_id, data == PAYLOAD)


async def run_closed_loop(
    pid: int,
    loop: ClosedLoop,
    clients: list[Any],
    warmup: float,
    measure: float,
    timeout: float,
    spy: Spy,
) -> dict[str, Any]:
    for c in clients:
        loop.attach(c)
    for c in clients:
        c.sent_at = perf_counter()
        loop.send(c)
    await asyncio.sleep(warmup)
    start = Window(pid, loop.acks)
    loop.recording = True
    spy.start(measure)
    await asyncio.sleep(measure)
    end = Window(pid, loop.acks)
    loop.recording = False
    loop.running = False
    loop.outstanding = sum(1 for c in clients if c.expect >= 0)
    if loop.outstanding:
        try:
            await asyncio.wait_for(loop.drained.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{loop.outstanding} acks never came back") from None
    for c in clients:
        c.on_message = ignore
    result: dict[str, Any] = dict(start.rate(end))
    result.update(clients=len(clients), bad_ack_ids=loop.bad, bad_payloads=loop.bad_payload)
    lat = sorted(loop.latencies)
    if lat:
        result["p50_us"] = lat[len(lat) // 2] * 1e6
        result["p99_us"] = lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e6
    if loop.bad or loop.bad_payload:
        raise RuntimeError(f"wrong acks: {loop.bad} bad ids, {loop.bad_payload} bad payloads")
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sc: Scenario = parse(args.scenario)
    out: dict[str, Any] = {"errors": [], "scenario": sc.name}
    pid = args.server_pid
    spy = Spy(args.py_spy, pid)
    clients: list[Any] = []
    try:
        if sc.kind == "idle":
            out["result"] = await phase_idle(args.port, pid, sc.clients, args.ping, args.timeout)
        elif sc.kind == "bcast":
            clients = await connect_many(args.port, sc.clients, args.timeout)
            await wait_server_idle(pid)
            out["result"] = await phase_broadcast(
                args.port,
                pid,
                clients,
                args.k,
                args.warmup,
                args.measure,
                args.timeout,
                spy,
                args.rcvlowat,
            )
        else:
            opener = connect_polling if sc.kind == "poll" else connect
            clients = await connect_many(args.port, sc.clients, args.timeout, opener)
            await wait_server_idle(pid)
            loop: ClosedLoop = BinLoop() if sc.kind == "bin" else EchoLoop()
            out["result"] = await run_closed_loop(
                pid, loop, clients, args.warmup, args.measure, args.timeout, spy
            )
    except Exception as exc:
        out["errors"].append(f"{sc.name}: " + describe(exc))
    finally:
        if sc.kind == "poll":
            await leave_all(clients, 2.0)
        close_all(clients)
        await spy.finish(args.timeout)
    return out


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if os.environ.get("BENCH_TRACEBACK"):
        text += "\n" + "".join(traceback.format_exception(exc))
    return text


def raise_nofile() -> None:
    """Thousands of connections need as many descriptors: soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--scenario", required=True, help="e.g. echo100 (bench/scenarios.py)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--measure", type=float, default=5.0)
    parser.add_argument("--k", type=int, default=10, help="broadcasts per trigger")
    parser.add_argument(
        "--ping", type=float, default=0.0, help="server ping interval (idle: wait for a ping)"
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="bound on any one wait")
    parser.add_argument(
        "--rcvlowat",
        action="store_true",
        help="broadcast: read deliveries half a batch at a time (SO_RCVLOWAT; cheaper for "
        "the generator, but counts in steps of half a batch per client)",
    )
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--py-spy", default="", help="record the server with py-spy to this file")
    args = parser.parse_args()
    raise_nofile()
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(run(args))
    else:
        result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
