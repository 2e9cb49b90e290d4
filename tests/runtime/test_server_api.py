"""Server API semantics, end to end: our AsyncServer (uvicorn) and Server (threaded WSGI)
against python-socketio's client as an independent peer."""

from __future__ import annotations

import inspect
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio as reference  # python-socketio: test-only peer

import sio_integrations as sio_mod
from sio_integrations import exceptions

from .live import run_asgi, run_wsgi, wait_until
from .test_bad_input import RawClient

KINDS = ["async", "sync"]


async def maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Harness:
    """One of our servers plus helpers to register handlers written once as coroutines."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        if kind == "async":
            self.sio: Any = sio_mod.AsyncServer(async_mode="asgi", **options)
            self.app: Any = sio_mod.ASGIApp(self.sio)
        else:
            self.sio = sio_mod.Server(async_mode="threading", **options)
            self.app = sio_mod.WSGIApp(self.sio)
        self.seen: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def on(self, event: str, namespace: str | None = None) -> Callable[..., Any]:
        def register(coro_fn: Callable[..., Any]) -> Callable[..., Any]:
            if self.kind == "async":
                self.sio.on(event, coro_fn, namespace=namespace)
            else:
                def sync_handler(*args: Any) -> Any:
                    # with the sync server every awaited value is ready: one step runs it
                    coro = coro_fn(*args)
                    try:
                        coro.send(None)
                    except StopIteration as stop:
                        return stop.value
                    coro.close()
                    raise RuntimeError("handler suspended under the sync server")
                sync_handler.__signature__ = inspect.signature(coro_fn)  # type: ignore
                self.sio.on(event, sync_handler, namespace=namespace)
            return coro_fn
        return register

    def record(self, *item: Any) -> None:
        self.seen.put(item)

    def next_seen(self, timeout: float = 5) -> tuple[Any, ...]:
        return self.seen.get(timeout=timeout)

    def serve(self) -> Any:
        return run_asgi(self.app) if self.kind == "async" else run_wsgi(self.app)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client(**kwargs: Any) -> Any:
    return reference.Client(**kwargs)


@pytest.fixture
def clients() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for c in made:
        if c.connected:
            c.disconnect()


def test_connect_auth_and_legacy_signature(kind: str, clients: list[Any]) -> None:
    h = Harness(kind)

    @h.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        h.record("connect", sid, auth, environ["REQUEST_METHOD"])

    @h.on("connect", namespace="/legacy")
    async def legacy(sid: str, environ: dict[str, Any]) -> None:
        h.record("legacy", sid)

    with h.serve() as url:
        c = client()
        clients.append(c)
        c.connect(url, auth={"token": "t1"}, namespaces=["/", "/legacy"], transports=["polling"])
        got = {h.next_seen()[0], h.next_seen()[0]}
        assert got == {"connect", "legacy"}
        assert c.get_sid("/") is not None and c.get_sid("/legacy") is not None


def test_refusal_with_data_and_false(kind: str) -> None:
    h = Harness(kind)

    @h.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> Any:
        if auth == {"mode": "raise"}:
            raise sio_mod.ConnectionRefusedError("nope", {"why": "bad token"})
        return False

    with h.serve() as url:
        for auth, message in (({"mode": "raise"}, "nope"),
                              ({"mode": "false"}, "Connection rejected by server")):
            c = client()
            errors: list[Any] = []
            c.on("connect_error", errors.append)
            with pytest.raises(reference.exceptions.ConnectionError):
                c.connect(url, auth=auth, transports=["polling"], wait_timeout=5)
            assert errors and errors[0]["message"] == message
            if auth["mode"] == "raise":
                assert errors[0]["data"] == {"why": "bad token"}


def test_acks_both_ways_and_call_timeout(kind: str, clients: list[Any]) -> None:
    h = Harness(kind)

    @h.on("add")
    async def add(sid: str, a: int, b: int) -> Any:
        return a + b, "sum"

    @h.on("ask")
    async def ask(sid: str, question: str) -> None:
        answer = await maybe(h.sio.call("question", question, to=sid, timeout=5))
        h.record("answer", answer)
        try:
            await maybe(h.sio.call("silent", to=sid, timeout=0.3))
        except exceptions.TimeoutError:
            h.record("timeout")

    with h.serve() as url:
        c = client()
        clients.append(c)
        c.on("question", lambda q: q.upper())
        c.on("silent", lambda: time.sleep(1))  # acknowledges too late
        c.connect(url, transports=["websocket"])
        assert c.call("add", (2, 3), timeout=5) == (5, "sum")
        c.emit("ask", "why")
        assert h.next_seen() == ("answer", "WHY")
        assert h.next_seen() == ("timeout",)


def test_rooms_skip_sid_close_room_and_session(kind: str, clients: list[Any]) -> None:
    h = Harness(kind)

    @h.on("join")
    async def join(sid: str, room: str) -> list[str]:
        await maybe(h.sio.enter_room(sid, room))
        if h.kind == "async":
            async with h.sio.session(sid) as session:
                session["joined"] = session.get("joined", 0) + 1
        else:
            with h.sio.session(sid) as session:
                session["joined"] = session.get("joined", 0) + 1
        return sorted(h.sio.rooms(sid))

    @h.on("shout")
    async def shout(sid: str, text: str) -> None:
        await maybe(h.sio.emit("said", text, to="r1", skip_sid=sid))

    @h.on("close")
    async def close(sid: str) -> None:
        await maybe(h.sio.close_room("r1"))

    @h.on("whoami")
    async def whoami(sid: str) -> Any:
        return (await maybe(h.sio.get_session(sid))).get("joined")

    inbox: dict[str, queue.Queue[str]] = {}
    with h.serve() as url:
        for name in ("a", "b", "c"):
            c = client()
            clients.append(c)
            inbox[name] = queue.Queue()
            c.on("said", lambda text, n=name: inbox[n].put(text))
            c.connect(url, transports=["websocket"])
        a, b, c3 = clients
        assert a.call("join", "r1", timeout=5) == sorted([a.get_sid("/"), "r1"])
        b.call("join", "r1", timeout=5)
        c3.call("join", "r2", timeout=5)
        assert a.call("whoami", timeout=5) == 1
        a.emit("shout", "hello")
        assert inbox["b"].get(timeout=5) == "hello"
        b.call("close", timeout=5)
        a.emit("shout", "again")
        a.call("whoami", timeout=5)  # ordering barrier: the shout was handled
        assert inbox["a"].empty() and inbox["c"].empty() and inbox["b"].empty()


def test_server_disconnect_and_reasons(kind: str) -> None:
    h = Harness(kind)

    @h.on("disconnect")
    async def disconnect(sid: str, reason: str) -> None:
        h.record("disconnect", reason)

    @h.on("kick")
    async def kick(sid: str) -> None:
        await maybe(h.sio.disconnect(sid))

    with h.serve() as url:
        c = client()
        reasons: list[Any] = []
        c.on("disconnect", lambda *args: reasons.append(args))
        c.connect(url, transports=["websocket"])
        c.emit("kick")
        assert h.next_seen() == ("disconnect", "server disconnect")
        wait_until(lambda: not c.connected, 5, "client to see the disconnect")
        # a client leaving the namespace (raw frames: python-socketio's client may abort
        # its transport before flushing the DISCONNECT packet)
        raw = RawClient(url)
        raw.ws.send("41")
        assert h.next_seen() == ("disconnect", "client disconnect")
        raw.ws.close()


def test_catch_all_and_class_namespace(kind: str, clients: list[Any]) -> None:
    h = Harness(kind)
    base = sio_mod.AsyncNamespace if kind == "async" else sio_mod.Namespace

    class Chat(base):  # type: ignore[misc, valid-type]
        def on_connect(self, sid: str, environ: dict[str, Any]) -> None:
            h.record("chat-connect")

        def on_echo(self, sid: str, data: Any) -> Any:
            return data

    h.sio.register_namespace(Chat("/chat"))

    @h.on("*")
    async def any_event(event: str, sid: str, *args: Any) -> Any:
        return ["star", event, *args]

    with h.serve() as url:
        c = client()
        clients.append(c)
        c.connect(url, namespaces=["/", "/chat"], transports=["websocket"])
        assert h.next_seen() == ("chat-connect",)
        assert c.call("echo", {"x": 1}, namespace="/chat", timeout=5) == {"x": 1}
        assert c.call("whatever", 7, timeout=5) == ["star", "whatever", 7]


def test_unknown_namespace_refused_like_js(kind: str) -> None:
    h = Harness(kind)
    with h.serve() as url:
        c = client()
        errors: list[Any] = []
        c.on("connect_error", lambda data: errors.append(data), namespace="/nope")
        with pytest.raises(reference.exceptions.ConnectionError):
            c.connect(url, namespaces=["/nope"], transports=["polling"], wait_timeout=5)
        assert errors == [{"message": "Invalid namespace"}]


def test_events_of_one_client_keep_their_order(kind: str, clients: list[Any]) -> None:
    h = Harness(kind)
    order: list[int] = []
    done = threading.Event()

    @h.on("step")
    async def step(sid: str, n: int) -> None:
        if n == 0:
            await maybe(h.sio.sleep(0.2))  # the first handler is the slowest
        order.append(n)
        if n == 19:
            done.set()

    with h.serve() as url:
        c = client()
        clients.append(c)
        c.connect(url, transports=["websocket"])
        for n in range(20):
            c.emit("step", n)
        assert done.wait(10)
        assert order == list(range(20))
