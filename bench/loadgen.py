"""Load generator: runs every scenario against one running server, prints one JSON line.

    python bench/loadgen.py --port 8000 --server-pid 1234 [--warmup 2 --measure 5]

Phases, in order, on one server process:
  1. memory: RSS of the server after one warm-up client, then with ``--idle`` idle clients
     connected (KiB per connection);
  2. broadcast: those clients join room ``bench``; a separate trigger client emits
     ``bcast {"room": "bench", "k": K}``, the server emits ``tick`` K times to the room; the
     trigger keeps at most two batches in flight (flow control on deliveries, so server
     queues stay bounded); deliveries/s counted across all clients;
  3. echo: closed loop, each of N clients emits ``echo`` and waits for its ack before
     emitting again; acks/s, for each N in ``--echo``.
Each phase reports the server's CPU use (from /proc) and ours, so a reader can see whether
the server was saturated and the generator was not. Not a test; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from time import perf_counter
from typing import Any

from procstat import Window, rss_kib, wait_server_idle
from wsclient import Counter, SioClient, connect, parse_ack_id

HOST = "127.0.0.1"
ECHO = b'["echo",{"n":1,"s":"hello"}]'
TICK = {"n": 1, "s": "hello"}
ECHO_ACK = [TICK]
TICK_PREFIX = b'2["tick"'


def ignore(_client: SioClient, _msg: bytes) -> None:
    pass


async def connect_many(port: int, n: int, timeout: float) -> list[SioClient]:
    sem = asyncio.Semaphore(64)  # bounded concurrent handshakes (listen backlogs differ)

    async def one() -> SioClient:
        async with sem:
            return await connect(HOST, port, ignore, timeout)

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    clients = [r for r in results if isinstance(r, SioClient)]
    errors = [r for r in results if not isinstance(r, SioClient)]
    if errors:
        close_all(clients)
        raise ConnectionError(f"{len(errors)}/{n} connections failed, first: {errors[0]!r}")
    return clients


def close_all(clients: list[SioClient]) -> None:
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
    await asyncio.wait_for(done.wait(), timeout)
    for c in clients:
        c.on_message = ignore


# -- phases --------------------------------------------------------------------------------


async def phase_memory(port: int, pid: int, clients_n: int, timeout: float) -> Any:
    warm = await connect(HOST, port, ignore, timeout)
    await ack_all([warm], ECHO, timeout)
    warm.close()
    await wait_server_idle(pid)
    before = rss_kib(pid)
    clients = await connect_many(port, clients_n, timeout)
    await wait_server_idle(pid)
    after = rss_kib(pid)
    result = {
        "clients": clients_n,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_conn": (after - before) / clients_n,
    }
    return result, clients


class Deliveries(Counter):
    """Broadcast deliveries (counted inside the clients) plus the trigger's acks."""

    def __init__(self) -> None:
        super().__init__(b"4" + TICK_PREFIX)
        self.acks = 0

    def on_trigger(self, _c: SioClient, msg: bytes) -> None:
        if msg[:1] == b"3":
            self.acks += 1
            self.progress.set()


async def check_broadcast(clients: list[SioClient], trigger: SioClient, timeout: float) -> None:
    """One broadcast before measuring: every member gets it, and its content is right."""
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


async def phase_broadcast(
    port: int,
    pid: int,
    clients: list[SioClient],
    k: int,
    warmup: float,
    measure: float,
    timeout: float,
) -> Any:
    n = len(clients)
    await ack_all(clients, b'["join","bench"]', timeout)
    trigger = await connect(HOST, port, ignore, timeout)
    try:
        await check_broadcast(clients, trigger, timeout)
    except BaseException:
        trigger.close()
        raise
    d = Deliveries()
    for c in clients:
        c.counter = d
    trigger.on_message = d.on_trigger
    request = b'["bcast",{"room":"bench","k":%d}]' % k
    per_batch = k * n
    sent = 0
    stop_at = time.monotonic() + warmup + measure
    marks: list[Window] = []

    async def mark_later() -> None:
        await asyncio.sleep(warmup)
        marks.append(Window(pid, d.count))
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
    result = marks[0].rate(marks[1])
    result.update(
        clients=n,
        k=k,
        batches=sent,
        expected=sent * per_batch,
        delivered=d.count,
        lost=sent * per_batch - d.count,
    )
    return result


class EchoLoop:
    def __init__(self) -> None:
        self.acks = 0
        self.bad = 0
        self.bad_payload = 0
        self.running = True
        self.outstanding = 0
        self.drained = asyncio.Event()
        self.recording = False
        self.latencies: list[float] = []  # seconds, inside the measured window only

    def on_ack(self, c: SioClient, msg: bytes) -> None:
        now = perf_counter()
        ack_id = parse_ack_id(msg)
        if ack_id < 0:
            return
        if self.recording:
            self.latencies.append(now - c.sent_at)
        if ack_id != c.expect:
            self.bad += 1
        elif ack_id & 63 == 0 and json.loads(msg[msg.find(b"[") :]) != ECHO_ACK:
            self.bad_payload += 1  # sampled: a server that acks with wrong data is caught
        self.acks += 1
        if self.running:
            c.sent_at = now
            c.expect = c.emit(ECHO)
        else:
            c.expect = -1
            self.outstanding -= 1
            if self.outstanding == 0:
                self.drained.set()


async def phase_echo(
    pid: int, clients: list[SioClient], warmup: float, measure: float, timeout: float
) -> Any:
    loop = EchoLoop()
    for c in clients:
        c.on_message = loop.on_ack
    for c in clients:
        c.sent_at = perf_counter()
        c.expect = c.emit(ECHO)
    await asyncio.sleep(warmup)
    start = Window(pid, loop.acks)
    loop.recording = True
    await asyncio.sleep(measure)
    end = Window(pid, loop.acks)
    loop.recording = False
    loop.running = False
    loop.outstanding = sum(1 for c in clients if c.expect >= 0)
    if loop.outstanding:
        try:
            await asyncio.wait_for(loop.drained.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{loop.outstanding} echo acks never came back") from None
    for c in clients:
        c.on_message = ignore
    result = start.rate(end)
    result.update(clients=len(clients), bad_ack_ids=loop.bad, bad_payloads=loop.bad_payload)
    lat = sorted(loop.latencies)
    if lat:
        result["p50_us"] = lat[len(lat) // 2] * 1e6
        result["p99_us"] = lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1e6
    if loop.bad or loop.bad_payload:
        raise RuntimeError(f"wrong acks: {loop.bad} bad ids, {loop.bad_payload} bad payloads")
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"errors": []}
    pid = args.server_pid
    idle: list[SioClient] = []
    try:
        out["memory"], idle = await phase_memory(args.port, pid, args.idle, args.timeout)
        if args.k > 0:
            out["broadcast"] = await phase_broadcast(
                args.port, pid, idle, args.k, args.warmup, args.measure, args.timeout
            )
    except Exception as exc:
        out["errors"].append("memory/broadcast: " + describe(exc))
    finally:
        close_all(idle)
    await wait_server_idle(pid)
    echo_ns = sorted(int(x) for x in args.echo.split(",") if x)
    if echo_ns:
        out["echo"] = {}
        clients: list[SioClient] = []
        try:
            clients = await connect_many(args.port, echo_ns[-1], args.timeout)
            await wait_server_idle(pid)
            for n in echo_ns:
                out["echo"][str(n)] = await phase_echo(
                    pid, clients[:n], args.warmup, args.measure, args.timeout
                )
        except Exception as exc:
            out["errors"].append("echo: " + describe(exc))
        finally:
            close_all(clients)
    return out


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if os.environ.get("BENCH_TRACEBACK"):
        text += "\n" + "".join(traceback.format_exception(exc))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--measure", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=1000, help="idle/broadcast clients")
    parser.add_argument("--k", type=int, default=10, help="broadcasts per trigger (0: skip)")
    parser.add_argument("--echo", default="10,100", help="echo client counts")
    parser.add_argument("--timeout", type=float, default=15.0, help="bound on any one wait")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        result = uvloop.run(run(args))
    else:
        result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
