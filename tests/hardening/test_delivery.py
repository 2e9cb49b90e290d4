"""Acknowledgements and outgoing queues under abuse: nothing grows without bound."""

from __future__ import annotations

import concurrent.futures
import gc
import json
import threading
import time
import tracemalloc
from typing import Any

import pytest
import websocket

import sio_integrations as sio_mod
from tests.runtime.live import wait_until

from .conftest import Live, Warnings, assert_echo, live_client_tasks
from .test_socketio_input import Attacker


class Reader:
    """Reads (and discards) everything a client receives, in a thread, never acking."""

    def __init__(self, attacker: Attacker) -> None:
        self.attacker = attacker
        self.events = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        ws = self.attacker.ws
        ws.settimeout(0.2)
        while not self.stop:
            try:
                data = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if data == "2":
                ws.send("3")
            elif isinstance(data, str) and data.startswith("42"):
                self.events += 1

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)


def _socket_sid(live: Live) -> str:
    """The Socket.IO sid of the only client of a fresh server besides the bystander."""
    sids = list(live.sio.manager.sockets)
    return sids[-1]


def _call_many(live: Live, sid: str, count: int, timeout: float) -> list[Any]:
    """``count`` calls that all time out, 500 at a time; returns what each raised."""
    if live.kind == "asgi":
        import asyncio

        async def all_calls() -> list[Any]:
            outcomes: list[Any] = []
            for first in range(0, count, 500):
                outcomes += await asyncio.gather(
                    *(live.sio.call("q", i, to=sid, timeout=timeout)
                      for i in range(first, min(count, first + 500))),
                    return_exceptions=True)
            return outcomes

        assert live.loop is not None
        return asyncio.run_coroutine_threadsafe(all_calls(), live.loop).result(60)

    def one(i: int) -> Any:
        try:
            return live.sio.call("q", i, to=sid, timeout=timeout)
        except Exception as exc:
            return exc

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        return list(pool.map(one, range(count)))


def test_ten_thousand_ack_timeouts_leave_nothing_behind(make_live: Any,
                                                        warnings: Warnings) -> None:
    live = make_live()
    bystander = live.client()
    attacker = Attacker(live)
    reader = Reader(attacker)
    baseline = live_client_tasks(live, bystander)
    sid = _socket_sid(live)
    socket = live.sio.manager.get_socket(sid)
    # warm up: containers (the loop's task set, the ack dict) grow to their high-water
    # mark for 500 concurrent calls once, and keep that capacity
    _call_many(live, sid, 1000, 0.05)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        outcomes = _call_many(live, sid, 10_000, 0.02)
        timeouts = sum(isinstance(o, sio_mod.exceptions.TimeoutError) for o in outcomes)
        del outcomes  # (their tracebacks hold frames)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert timeouts == 10_000
    assert len(socket.acks) == 0
    assert after - before < 300_000, after - before
    wait_until(lambda: reader.events >= 10_500, 30, "the attacker to read every event")
    wait_until(lambda: live_client_tasks(live, bystander) <= baseline, 10,
               "tasks/threads back to the baseline")
    reader.close()
    warnings.assert_none()
    assert_echo(bystander)


def test_pending_call_ends_when_the_client_disconnects(make_live: Any) -> None:
    """A call() waiting for an acknowledgement does not outlive its client."""
    live = make_live()
    bystander = live.client()
    live_client_tasks(live, bystander)
    attacker = Attacker(live)
    reader = Reader(attacker)
    sid = _socket_sid(live)
    socket = live.sio.manager.get_socket(sid)
    outcome: list[Any] = []

    def waiting_call() -> None:
        try:
            outcome.append(live.call("call", "q", 1, to=sid, timeout=30))
        except Exception as exc:
            outcome.append(exc)

    caller = threading.Thread(target=waiting_call)
    caller.start()
    wait_until(lambda: len(socket.acks) == 1, 5, "the call to be sent")
    reader.close()
    attacker.ws.close()
    start = time.monotonic()
    caller.join(5)
    assert outcome, "call() still waiting 5 s after its client left"
    assert isinstance(outcome[0], sio_mod.exceptions.DisconnectedError), outcome
    assert time.monotonic() - start < 5
    assert len(socket.acks) == 0
    assert_echo(bystander)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_slow_consumer_is_disconnected_not_buffered(make_live: Any, warnings: Warnings,
                                                   transport: str) -> None:
    """A client that stops reading while the server keeps emitting to it is closed once
    its send queue passes ``max_send_buffer_size`` (documented policy), instead of growing
    memory without end; other clients are unaffected."""
    live = make_live(max_send_buffer_size=200_000)
    bystander = live.client()
    seen = len(live.disconnects)
    if transport == "websocket":
        attacker = Attacker(live)
        sid = attacker.sid
        # two other clients' handlers emit 20 MB each to the attacker, which never reads:
        # one write blocks (that handler waits), the other handler's frames queue behind
        flooders = [Attacker(live) for _ in range(2)]
        for flooder in flooders:
            flooder.send(f'42["flood",2000,10000,"{attacker.io_sid}"]')
    else:
        sid = live.handshake()
        assert live.post(sid, b"40").body == b"ok"
        assert live.poll(sid).body.startswith(b"40{")
        assert live.post(sid, b'421["flood",3000,1000]').body == b"ok"  # never polled
    assert live.wait_disconnect(seen, timeout=10)[1] == "transport error"
    assert len(live.disconnects) == seen + 1  # only the slow consumer
    warnings.assert_one(sid, "max_send_buffer_size")
    eio = live.sio.eio
    assert sid not in eio._clients
    assert_echo(bystander)
    if transport == "polling":
        assert live.poll(sid).error_code() == 1
    else:
        # the flooder whose write to the attacker blocked stays blocked until the
        # attacker's TCP connection goes away (the host's websocket close waits for it)
        attacker.ws.sock.close()


def test_default_send_buffer_keeps_a_normal_burst(make_live: Any, warnings: Warnings) -> None:
    live = make_live()
    client = Attacker(live)
    client.send('421["flood",500,1000]')
    replies = [client.ws.recv() for _ in range(501)]
    assert replies[-1] == "431[500]"
    assert sum(1 for r in replies if r.startswith('42["data"')) == 500
    warnings.assert_none()
    assert json.loads(replies[0][2:])[0] == "data"
