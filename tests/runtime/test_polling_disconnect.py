"""A waiting long-polling GET whose client goes away ends soon (ASGI hosts).

Real servers on 127.0.0.1 (uvicorn with httptools and h11, Hypercorn), raw sockets: a GET
is left waiting, its socket is closed, and the request must end well before the next ping
(20 s here; the watch starts within a heartbeat round) with no task left behind, while the
Engine.IO session stays open: a client that drops a poll and polls again keeps its session
and receives what was sent meanwhile.
Two GETs that really overlap (both connections open) remain a protocol error.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sio_integrations as socketio

from .live import free_port, run_coro_threadsafe, wait_until

PING_INTERVAL = 20.0  # the ping would end a waiting GET after this long: far beyond DEADLINE
DEADLINE = 5.0


class Recorder:
    """ASGI middleware noting each request's end (the observable hook of these tests)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ended: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                with self.lock:
                    self.ended.append((scope["method"], scope["query_string"].decode()))

    def ended_count(self, method: str, sid: str) -> int:
        with self.lock:
            return sum(1 for m, q in self.ended if m == method and f"sid={sid}" in q)

    def tasks(self) -> int:
        assert self.loop is not None

        async def count() -> int:
            return len(asyncio.all_tasks()) - 1  # (not this one)

        return int(run_coro_threadsafe(self.loop, count()))


def _app(monitor: bool = True) -> tuple[socketio.AsyncServer, Recorder, list[str]]:
    sio = socketio.AsyncServer(async_mode="asgi", ping_interval=PING_INTERVAL, ping_timeout=20,
                               monitor_clients=monitor)
    disconnects: list[str] = []

    @sio.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, reason: str) -> None:
        disconnects.append(reason)

    return sio, Recorder(socketio.ASGIApp(sio)), disconnects


@contextmanager
def _uvicorn(app: Any, http: str) -> Iterator[int]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=http, loop="asyncio",
                            lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn to start")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def _hypercorn(app: Any) -> Iterator[int]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    loop = asyncio.new_event_loop()
    stop: list[asyncio.Event] = []

    async def main() -> None:
        stop.append(asyncio.Event())
        await serve(app, config, shutdown_trigger=stop[0].wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()

    def accepting() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    wait_until(accepting, 10, "hypercorn to start")
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()


HOSTS = ["uvicorn-httptools", "uvicorn-h11", "hypercorn"]


@contextmanager
def _serve(host: str, app: Any) -> Iterator[int]:
    if host == "hypercorn":
        pytest.importorskip("hypercorn")
        with _hypercorn(app) as port:
            yield port
    else:
        with _uvicorn(app, host.split("-")[1]) as port:
            yield port


class Conn:
    """One HTTP/1.1 connection on a raw socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, method: str, query: str, body: bytes = b"") -> None:
        head = f"{method} /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if method == "POST":
            head += f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)

    def response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        length = int(headers["content-length"])
        while len(self.buf) < length:
            self._more()
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(lines[0].split()[1]), body

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buf += data

    def request(self, method: str, query: str, body: bytes = b"") -> tuple[int, bytes]:
        self.send(method, query, body)
        return self.response()

    def close(self) -> None:
        self.sock.close()


def _connect(port: int) -> tuple[str, str, Conn]:
    """Open a session and join "/"; returns the Engine.IO sid, its query and a connection."""
    conn = Conn(port)
    status, body = conn.request("GET", "EIO=4&transport=polling")
    assert status == 200, body
    sid = json.loads(body[1:])["sid"]
    query = f"EIO=4&transport=polling&sid={sid}"
    assert conn.request("POST", query, b"40") == (200, b"ok")
    status, body = conn.request("GET", query)
    assert status == 200 and body.startswith(b"40{"), body
    return sid, query, conn


def _session(sio: socketio.AsyncServer, sid: str) -> Any:
    # the engine's record of the session (read only): whether a GET is waiting on it
    return sio.eio._clients.get(sid)


def _waiting(sio: socketio.AsyncServer, sid: str) -> bool:
    client = _session(sio, sid)
    return client is not None and client.session.polling


@pytest.mark.parametrize(("host", "monitor"), [*((h, True) for h in HOSTS),
                                               ("uvicorn-httptools", False)])
def test_dropped_get_ends_at_once_and_the_session_stays(host: str, monitor: bool) -> None:
    """With the heartbeat service the watch starts within a round (at most a second);
    without it, at once."""
    sio, app, disconnects = _app(monitor)
    with _serve(host, app) as port:
        sid, query, conn = _connect(port)
        wait_until(lambda: app.ended_count("GET", sid) == 1, DEADLINE, "the first GET to end")
        tasks_before = app.tasks()
        poll = Conn(port)
        poll.send("GET", query)
        wait_until(lambda: _waiting(sio, sid), DEADLINE, "the GET to wait")
        poll.close()
        # ended by the disconnect, long before the ping (PING_INTERVAL) could end it
        wait_until(lambda: app.ended_count("GET", sid) == 2, DEADLINE, "the dropped GET to end")
        assert not _waiting(sio, sid)
        assert _session(sio, sid).poll_watch is None
        wait_until(lambda: app.tasks() <= tasks_before, DEADLINE, "no task left behind")
        # the session is intact: what is sent now waits for the next GET
        assert sio.eio.is_connected(sid) and disconnects == []
        (sio_sid, _), = sio.manager.get_participants("/", None)
        run_coro_threadsafe(app.loop, sio.emit("news", {"n": 1}, to=sio_sid))
        status, body = conn.request("GET", query)
        assert status == 200 and body == b'42["news",{"n":1}]', body
        conn.close()


@pytest.mark.parametrize("host", HOSTS)
def test_poll_dropped_and_sent_again_keeps_the_session(host: str) -> None:
    """The client drops a waiting GET and polls again at once, many times: never seen as
    two overlapping GETs (which would close the session)."""
    sio, app, disconnects = _app()
    with _serve(host, app) as port:
        sid, query, conn = _connect(port)
        poll = Conn(port)
        poll.send("GET", query)
        wait_until(lambda: _waiting(sio, sid), DEADLINE, "the GET to wait")
        for i in range(20):
            poll.close()
            poll = Conn(port)
            poll.send("GET", query)  # at once: the server may not have seen the close yet
            ended = i + 2  # (the GET of _connect, and the one just dropped)
            wait_until(lambda n=ended: app.ended_count("GET", sid) == n  # type: ignore[misc]
                       and _waiting(sio, sid),
                       DEADLINE, "the dropped GET to end and the new one to wait")
        poll.close()
        wait_until(lambda: not _waiting(sio, sid), DEADLINE, "the last GET to end")
        assert sio.eio.is_connected(sid) and disconnects == []
        (sio_sid, _), = sio.manager.get_participants("/", None)
        run_coro_threadsafe(app.loop, sio.emit("news", 2, to=sio_sid))
        assert conn.request("GET", query) == (200, b'42["news",2]')
        conn.close()


@pytest.mark.parametrize("host", HOSTS)
def test_two_live_gets_are_still_a_protocol_error(host: str) -> None:
    sio, app, disconnects = _app()
    with _serve(host, app) as port:
        sid, query, conn = _connect(port)
        first = Conn(port)
        first.send("GET", query)
        wait_until(lambda: _waiting(sio, sid), DEADLINE, "the GET to wait")
        second = Conn(port)
        status, body = second.request("GET", query)
        assert status == 400 and json.loads(body)["code"] == 3, body
        assert first.response() == (200, b"1")  # the session is closed: CLOSE to the first
        wait_until(lambda: disconnects == ["transport error"], DEADLINE, "the disconnect")
        assert not sio.eio.is_connected(sid)
        for c in (first, second, conn):
            c.close()
