"""A real Socket.IO server on 127.0.0.1 (uvicorn/asgi or werkzeug threads) for hostile input.

Every hardening test gets a :class:`Live` server with a connected *bystander* client, and
checks the four promises of issue 10: (a) a clear error for the attacker, (b) exactly one
WARNING line naming the session and the reason and carrying no traceback, (c) every
request answered within :data:`BUDGET` seconds, (d) the bystander still gets its echo.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

import sio_integrations as sio_mod
from sio_integrations.runtime.logs import warning_limiter
from tests.runtime.live import run_asgi, run_wsgi, wait_until
from tests.runtime.test_bad_input import RawClient

#: seconds within which every hostile request must be answered (issue 10, point c)
BUDGET = 1.0
PATH = "/socket.io/"

# small size limits so that the tests reach them quickly; timers are long here (a test
# that checks one makes it short) so an idle test client is never dropped meanwhile
OPTIONS: dict[str, Any] = {
    "ping_interval": 20,
    "ping_timeout": 20,
    "connect_timeout": 300,  # (sessions left open by earlier tests must stay quiet)
    "binary_timeout": 20,
    "upgrade_timeout": 20,
    "max_http_buffer_size": 10_000,
    "max_payload_packets": 20,
}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body)

    def error_code(self) -> int:
        """The Engine.IO error code of a 400 answer with a JSON body (point a)."""
        assert self.status == 400, (self.status, self.body)
        assert self.headers.get("content-type", "").startswith("application/json")
        body = self.json()
        assert set(body) == {"code", "message"}, body
        return int(body["code"])


@dataclass
class Live:
    kind: str  # "asgi" or "wsgi"
    sio: Any
    url: str
    port: int
    disconnects: list[tuple[str, str]] = field(default_factory=list)
    #: disconnect reasons a measuring test kept before emptying ``disconnects``
    reasons: set[str] = field(default_factory=set)
    loop: asyncio.AbstractEventLoop | None = None

    # -- raw HTTP ------------------------------------------------------------------------
    def http(self, method: str, query: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = BUDGET) -> Response:
        """One request with http.client; fails unless answered within ``timeout``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        start = time.monotonic()
        try:
            conn.request(method, PATH + "?" + query, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        elapsed = time.monotonic() - start
        assert elapsed < timeout + 0.05, f"answered after {elapsed:.2f} s"
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                        elapsed)

    def raw(self, request: bytes, timeout: float = BUDGET) -> bytes:
        """Send raw bytes, return everything the server answers before closing or the
        first complete response (headers and a Content-Length body)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(request)
            data = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                data += chunk
                head, sep, rest = data.partition(b"\r\n\r\n")
                if sep:
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(rest) >= length[0]:
                        break
            return data

    def handshake(self) -> str:
        r = self.http("GET", "EIO=4&transport=polling")
        assert r.status == 200 and r.body.startswith(b"0"), r
        return str(json.loads(r.body[1:])["sid"])

    def poll(self, sid: str, timeout: float = BUDGET) -> Response:
        return self.http("GET", f"EIO=4&transport=polling&sid={sid}", timeout=timeout)

    def post(self, sid: str, body: bytes, headers: dict[str, str] | None = None) -> Response:
        return self.http("POST", f"EIO=4&transport=polling&sid={sid}", body, headers)

    def client(self, join: bool = True) -> RawClient:
        return RawClient(self.url, join=join)

    def ws_url(self, query: str = "EIO=4&transport=websocket") -> str:
        return self.url.replace("http://", "ws://") + PATH + "?" + query

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a server method from the test thread (on uvicorn's loop for asgi)."""
        result = getattr(self.sio, method)(*args, **kwargs)
        if self.loop is not None and asyncio.iscoroutine(result):
            return asyncio.run_coroutine_threadsafe(result, self.loop).result(30)
        return result

    def wait_disconnect(self, count: int, timeout: float = 5.0) -> tuple[str, str]:
        """The first disconnect after the first ``count`` ones."""
        wait_until(lambda: len(self.disconnects) > count, timeout, "a disconnect")
        return self.disconnects[count]


def build_server(kind: str, **overrides: Any) -> tuple[Any, Any, Live]:
    options = {**OPTIONS, **overrides}
    if kind == "asgi":
        sio: Any = sio_mod.AsyncServer(async_mode="asgi", **options)
        app: Any = sio_mod.ASGIApp(sio)
    else:
        sio = sio_mod.Server(async_mode="threading", **options)
        app = sio_mod.WSGIApp(sio)
    live = Live(kind=kind, sio=sio, url="", port=0)

    def echo(sid: str, *args: Any) -> Any:
        return args[0] if len(args) == 1 else tuple(args)

    def disconnect(sid: str, reason: str) -> None:
        live.disconnects.append((sid, reason))

    if kind == "asgi":
        async def flood(sid: str, count: int, size: int, target: str | None = None) -> int:
            for _ in range(count):
                await sio.emit("data", "x" * size, to=target or sid)
            return count

        async def loop_probe(sid: str) -> int:
            live.loop = asyncio.get_running_loop()
            return len(asyncio.all_tasks())

        sio.on("tasks", loop_probe)
    else:
        sio.on("tasks", lambda sid: threading.active_count())

        def flood(sid: str, count: int, size: int, target: str | None = None) -> int:
            for _ in range(count):
                sio.emit("data", "x" * size, to=target or sid)
            return count

    sio.on("flood", flood)
    sio.on("echo", echo)
    sio.on("disconnect", disconnect)
    return sio, app, live


@pytest.fixture(params=["asgi", "wsgi"], scope="module")
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def serve(kind: str, **overrides: Any) -> Iterator[Live]:
    sio, app, live = build_server(kind, **overrides)
    with (run_asgi(app) if kind == "asgi" else run_wsgi(app)) as url:
        live.url = url
        live.port = int(url.rsplit(":", 1)[1])
        yield live


@pytest.fixture
def make_live(kind: str) -> Iterator[Any]:
    """``make_live(**options)`` starts a server of the parametrized kind with options."""
    with ExitStack() as stack:
        yield lambda **overrides: stack.enter_context(serve(kind, **overrides))


@pytest.fixture(scope="module")
def live(kind: str) -> Iterator[Live]:
    """One server per module and kind, with the default hardening options."""
    with serve(kind) as running:
        yield running


@pytest.fixture
def bystander(live: Live) -> Iterator[RawClient]:
    """A well-behaved client connected before the attack; it must keep working."""
    client = live.client()
    live_client_tasks(live, client)  # also learns the asyncio loop of the server
    yield client
    client.ws.close()


def live_client_tasks(live: Live, client: RawClient) -> int:
    """Tasks (asgi) or threads (wsgi) alive in the server, asked through a client."""
    client.ws.send('42999["tasks"]')
    reply = client.recv()
    assert reply.startswith("43999["), reply
    return int(json.loads(reply[5:])[0])


def assert_echo(client: RawClient, payload: str = "still here") -> None:
    """Point (d): the bystander's event is acknowledged within the budget."""
    client.ws.settimeout(BUDGET * 2)
    start = time.monotonic()
    client.ws.send(f'42777["echo",{json.dumps(payload)}]')
    reply = client.recv()
    assert reply == f"43777[{json.dumps(payload)}]", reply
    assert time.monotonic() - start < BUDGET * 2
    client.ws.settimeout(5)


class Warnings:
    """WARNING-or-worse records of our loggers (point b)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.started = time.time()
        caplog.set_level(logging.WARNING)

    def records(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.name.startswith("sio_integrations")
                and r.levelno >= logging.WARNING and not self._earlier_session(r)]

    def _earlier_session(self, record: logging.LogRecord) -> bool:
        """The connect-timeout sweeper closing a session an earlier test opened on a shared
        server (the line says how long ago it was opened): not this test's business."""
        if not str(record.msg).startswith("client %s joined no namespace in") or not (
                isinstance(record.args, tuple) and len(record.args) == 2):
            return False
        opened = record.created - float(record.args[1])
        return opened < self.started - 0.5

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[logging.LogRecord]:
        wait_until(lambda: len(self.records()) >= count, timeout, f"{count} warning(s)")
        return self.records()

    def assert_one(self, *needles: str, timeout: float = 5.0) -> logging.LogRecord:
        """Exactly one line, with every needle (sid, reason) in it, and no traceback."""
        self.wait(1, timeout)
        records = self.records()
        lines = [r.getMessage() for r in records]
        assert len(records) == 1, lines
        record = records[0]
        assert record.levelno == logging.WARNING, lines
        assert record.exc_info is None and not record.exc_text, lines
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
        return record

    def assert_none(self) -> None:
        assert self.records() == [], [r.getMessage() for r in self.records()]


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Warnings:
    return Warnings(caplog)


@pytest.fixture(autouse=True)
def fresh_warning_limit() -> Iterator[None]:
    """Every test starts with full warning buckets (the limiter is process-wide), so a
    test that counts its one WARNING line never depends on what earlier tests logged."""
    warning_limiter.configure()
    yield
    warning_limiter.configure()
