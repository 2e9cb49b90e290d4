"""Memory returns to its baseline after the attacker leaves (issue 10, point e).

Each case runs the attack once to warm up (dicts and sets keep the capacity they reached,
which is not a leak), then again under ``tracemalloc``: once the server has forgotten
every attacking session, what the second round allocated and did not free must stay
under a tolerance far below one leaked session per attacker. The server runs in this
process (uvicorn or threaded Werkzeug), so everything it keeps is traced.
"""

from __future__ import annotations

import concurrent.futures
import gc
import json
import logging
import socket
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket

from tests.runtime.live import wait_until

from .conftest import PATH, Live

#: short heartbeats, so that a client that vanishes is dropped within about 2 s
TIMERS: dict[str, Any] = {"ping_interval": 1, "ping_timeout": 1, "connect_timeout": 3,
                          "binary_timeout": 3}
#: a 5 KB argument in every attacking packet, so that a leaked packet is visible
BLOB = "y" * 5_000  # (max_http_buffer_size is 10,000 in these tests)


def _server_empty(live: Live) -> bool:
    return not live.sio.eio._clients and not live.sio.manager.sockets


def _net_allocation(live: Live, attack: Callable[[], None], tolerance: int,
                    timeout: float = 60) -> int:
    """Bytes allocated by ``attack`` (and the server's handling of it) still held once
    the server has no session left; polled (bounded) until under ``tolerance``, since a
    session's last steps (its disconnect handler, a handler still emitting to it) may run
    just after it left the server's tables. (The test's own record of disconnects is
    emptied first: it grows by design.)"""
    attack()  # warm-up round
    wait_until(lambda: _server_empty(live), timeout, "the warm-up sessions to be dropped")
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        attack()
        wait_until(lambda: _server_empty(live), timeout, "the sessions to be dropped")
        deadline = time.monotonic() + 10
        while True:
            live.reasons |= {reason for _, reason in live.disconnects}
            live.disconnects.clear()
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
            if after - before < tolerance or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        tracemalloc.stop()
    return after - before


def _parallel(count: int, one: Callable[[int], Any], workers: int = 8) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


def _polling_join(live: Live, http: requests.Session) -> str:
    """An Engine.IO session over long-polling with the main namespace joined."""
    url = live.url + PATH
    opened = http.get(url, params={"EIO": "4", "transport": "polling"}, timeout=10).text
    sid = json.loads(opened[1:])["sid"]
    query = {"EIO": "4", "transport": "polling", "sid": sid}
    assert http.post(url, params=query, data="40", timeout=10).text == "ok"
    assert http.get(url, params=query, timeout=10).text.startswith("40{")
    return str(sid)


def _ws_join(live: Live) -> websocket.WebSocket:
    ws = websocket.create_connection(live.ws_url(), timeout=10)
    assert ws.recv().startswith("0{")
    ws.send("40")
    reply = ws.recv()
    while reply == "2":  # a ping (1 s heartbeats on a loaded machine): answer it
        ws.send("3")
        reply = ws.recv()
    assert reply.startswith("40{"), reply
    ws.io_sid = json.loads(reply[2:])["sid"]
    return ws


@pytest.fixture(autouse=True)
def quiet_access_log() -> Any:
    """Werkzeug logs every request at INFO, and pytest keeps every record of a test in
    memory for its report: that would be the test's growth, not the server's."""
    access = logging.getLogger("werkzeug")
    level = access.level
    access.setLevel(logging.WARNING)
    yield
    access.setLevel(level)


def test_vanishing_connections(make_live: Any) -> None:
    """(a) 2,000 connections (half websocket, half long-polling) join and vanish without
    a close: the websocket's TCP connection just ends, the long-polling client stops."""
    live = make_live(**TIMERS)

    def one(n: int) -> None:
        if n % 2:
            ws = _ws_join(live)
            ws.send(f'42["echo","{BLOB}"]')
            ws.sock.close()  # no close frame, no Engine.IO close packet
        else:
            with requests.Session() as http:
                _polling_join(live, http)

    # one leaked session would hold several KB (5 KB more with its echo)
    leaked = _net_allocation(live, lambda: _parallel(2000, one), 400_000)
    assert leaked < 400_000, leaked


def test_half_sent_binary_packets(make_live: Any) -> None:
    """(b) 500 binary packets whose attachment never comes, then the client leaves."""
    live = make_live(**TIMERS)

    def one(n: int) -> None:
        ws = _ws_join(live)
        ws.send(f'451-["upload","{BLOB}",{{"_placeholder":true,"num":0}}]')
        ws.close()  # a proper close, with the packet still waiting for its attachment

    leaked = _net_allocation(live, lambda: _parallel(500, one), 300_000)
    assert leaked < 300_000, leaked


def test_abandoned_long_polls(make_live: Any) -> None:
    """(c) 1,000 sessions whose client goes away while its GET is waiting for packets."""
    live = make_live(**{**TIMERS, "ping_interval": 10})  # no ping while the GETs wait

    def batch(size: int) -> None:
        def open_poll(n: int) -> socket.socket:
            with requests.Session() as http:
                sid = _polling_join(live, http)
            s = socket.create_connection(("127.0.0.1", live.port), timeout=10)
            s.sendall(f"GET {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{live.port}\r\n\r\n".encode())
            return s

        polls = _parallel(size, open_poll)
        # the GETs are waiting (nothing to send yet): none has been answered, unless with
        # a ping (joining 250 sessions under tracemalloc on a busy machine can take long)
        for s in polls:
            s.setblocking(False)
            try:
                answer = s.recv(4096)
            except BlockingIOError:
                continue  # still waiting
            assert answer.endswith(b"\r\n\r\n2"), answer
        for s in polls:
            s.close()

    def attack() -> None:
        for _ in range(4):
            batch(250)

    leaked = _net_allocation(live, attack, 400_000)
    assert leaked < 400_000, leaked


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_slow_consumers(make_live: Any, transport: str) -> None:
    """(d) clients that stop reading while the server floods them are disconnected by
    ``max_send_buffer_size``; then they leave."""
    live = make_live(max_send_buffer_size=300_000, **TIMERS)
    flood_in_background(live)

    def polling_consumer(n: int) -> None:
        with requests.Session() as http:
            sid = _polling_join(live, http)
            url = live.url + PATH
            query = {"EIO": "4", "transport": "polling", "sid": sid}
            # 600 KB for itself, never polled
            assert http.post(url, params=query, data='421["flood",600,1000]',
                             timeout=10).text == "ok"

    def websocket_consumer(n: int) -> None:
        ws = _ws_join(live)
        seen = len(live.disconnects)
        ws.send('42["bgflood",300,10000]')  # 2 x 3 MB for itself; it never reads
        wait_until(lambda: len(live.disconnects) > seen, 20, "the slow consumer's disconnect")
        ws.sock.close()  # the write in flight ends with the TCP connection

    def attack() -> None:
        if transport == "polling":
            _parallel(20, polling_consumer)
        else:
            for n in range(4):
                websocket_consumer(n)

    leaked = _net_allocation(live, attack, 150_000)
    # (on a very busy machine a consumer may miss its pong before its queue overflows)
    assert "transport error" in live.reasons, live.reasons
    assert live.reasons <= {"transport error", "ping timeout"}, live.reasons
    # one slow consumer's queue alone is about 300 KB
    assert leaked < 150_000, leaked


def test_last_slow_consumer_is_not_kept(make_live: Any) -> None:
    """Once the last client is gone, nothing of it stays: here one slow consumer over
    long-polling, alive long enough for the heartbeat loop to have pinged it. (The loop
    used to keep the last client it visited, with its queue, while the server was idle.)"""
    live = make_live(max_send_buffer_size=300_000, **TIMERS)

    def attack() -> None:
        with requests.Session() as http:
            sid = _polling_join(live, http)
            url = live.url + PATH
            query = {"EIO": "4", "transport": "polling", "sid": sid}
            # the heartbeat loop has seen this client: it pinged it
            assert http.get(url, params=query, timeout=10).text == "2"
            assert http.post(url, params=query, data="3", timeout=10).text == "ok"
            assert http.post(url, params=query, data='421["flood",600,1000]',
                             timeout=10).text == "ok"

    leaked = _net_allocation(live, attack, 150_000)
    assert live.reasons == {"transport error"}, live.reasons
    assert leaked < 150_000, leaked


def flood_in_background(live: Live) -> None:
    """``bgflood(count, size)``: two background tasks emit to the caller, so that one
    write blocks (the client does not read) and the other's frames queue behind it."""
    sio = live.sio
    if live.kind == "asgi":
        async def flood(sid: str, count: int, size: int) -> None:
            for _ in range(count):
                await sio.emit("data", "x" * size, to=sid)

        async def bgflood(sid: str, count: int, size: int) -> None:
            for _ in range(2):
                sio.start_background_task(flood, sid, count, size)
    else:
        def flood(sid: str, count: int, size: int) -> None:  # type: ignore[misc]
            for _ in range(count):
                sio.emit("data", "x" * size, to=sid)

        def bgflood(sid: str, count: int, size: int) -> None:  # type: ignore[misc]
            for _ in range(2):
                sio.start_background_task(flood, sid, count, size)
    sio.on("bgflood", bgflood)
