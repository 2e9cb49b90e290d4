"""Our server against python-socketio's ``Client`` and ``AsyncClient`` as peers.

The peer is always python-socketio (``import socketio``); the server under test
is chosen by ``SIO_IMPL`` like everywhere in this suite.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio as peer  # python-socketio: the client peer, never the server under test

from tests.interop.harness import ServerPool

pytestmark = pytest.mark.timeout(60)

WAIT = 10.0
FULL = [pytest.param(m, t, id=f"{m}-{t}")
        for m in ("asgi", "threading") for t in ("polling", "websocket")]
SMOKE = FULL + [pytest.param(m, "websocket", id=f"{m}-websocket")
                for m in ("aiohttp", "eventlet", "gevent")]


class Inbox:
    """Thread-safe record of events a client received."""

    def __init__(self) -> None:
        self.items: dict[str, list[Any]] = {}
        self.cond = threading.Condition()

    def add(self, name: str, value: Any) -> None:
        with self.cond:
            self.items.setdefault(name, []).append(value)
            self.cond.notify_all()

    def wait(self, name: str, count: int = 1) -> list[Any]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.items.get(name, [])) >= count, WAIT)
        assert ok, f"never received {count} x {name!r}: {self.items}"
        return self.items[name]

    def get(self, name: str) -> list[Any]:
        with self.cond:
            return list(self.items.get(name, []))


@pytest.fixture
def clients() -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(url: str, transport: str, **kwargs: Any) -> Any:
        client = peer.Client(reconnection=False)
        client.inbox = Inbox()
        made.append(client)
        setup = kwargs.pop("setup", None)
        if setup:
            setup(client)
        client.connect(url, transports=[transport], wait_timeout=WAIT, **kwargs)
        return client

    yield make
    # python-socketio's Client.disconnect() waits for its read loop; against a server that
    # leaves a polling GET hanging that takes a ping interval, so close them all at once.
    closers = [threading.Thread(target=c.disconnect, daemon=True) for c in made]
    for t in closers:
        t.start()
    deadline = time.monotonic() + 1
    for t in closers:
        t.join(max(0.0, deadline - time.monotonic()))


def url_of(servers: ServerPool, mode: str) -> str:
    return servers.get(mode).url


@pytest.mark.parametrize(("mode", "transport"), SMOKE)
def test_connect_auth_and_session(servers: ServerPool, clients: Any, mode: str,
                                  transport: str) -> None:
    c = clients(url_of(servers, mode), transport, auth={"token": "py", "n": [1, 2]})
    who = c.call("whoami", "a", timeout=WAIT)
    assert who == {"sid": c.get_sid("/"), "transport": transport, "args": ["a"]}
    got = c.call("get_auth", timeout=WAIT)
    assert got["auth"] == {"token": "py", "n": [1, 2]}


@pytest.mark.parametrize(("mode", "transport"), FULL)
def test_custom_namespace(servers: ServerPool, clients: Any, mode: str, transport: str) -> None:
    def setup(c: Any) -> None:
        c.on("ns_msg", lambda data: c.inbox.add("root", data))
        c.on("ns_msg", lambda data: c.inbox.add("chat", data), namespace="/chat")

    c = clients(url_of(servers, mode), transport, namespaces=["/", "/chat"], setup=setup)
    root_sid, chat_sid = c.get_sid("/"), c.get_sid("/chat")
    assert root_sid and chat_sid and root_sid != chat_sid
    assert c.call("ns_echo", "r", timeout=WAIT) == {"ns": "/", "sid": root_sid, "data": "r"}
    assert c.call("ns_echo", "c", namespace="/chat", timeout=WAIT) == {
        "ns": "/chat", "sid": chat_sid, "data": "c"}
    assert c.call("ns_push", "p", namespace="/chat", timeout=WAIT) == "pushed"
    assert c.inbox.wait("chat") == [{"ns": "/chat", "data": "p"}]
    c.call("whoami", timeout=WAIT)  # FIFO on the engine connection: a stray / emit is here now
    assert c.inbox.get("root") == []


@pytest.mark.parametrize(("mode", "transport"), FULL)
def test_connection_refused_with_data(servers: ServerPool, mode: str, transport: str) -> None:
    client = peer.Client(reconnection=False)
    seen = Inbox()
    client.on("connect_error", lambda *args: seen.add("connect_error", list(args)))
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            client.connect(url_of(servers, mode), transports=[transport], wait_timeout=WAIT,
                           auth={"reject": True})
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            outcome.append(exc)

    # python-socketio's Client can linger in connect() after a refusal until its pending
    # poll returns; the refusal itself is what is checked here, so do not wait for that.
    threading.Thread(target=connect, daemon=True).start()
    assert seen.wait("connect_error") == [[{"message": "not allowed", "data": {"k": "v"}}]]
    assert client.connected is False


@pytest.mark.parametrize(("mode", "transport"), SMOKE)
def test_acks_both_ways(servers: ServerPool, clients: Any, mode: str, transport: str) -> None:
    def setup(c: Any) -> None:
        c.on("server_asks", lambda data: {"got": data, "from": "py"})
        c.on("server_asks_cb", lambda a, b: ("r1", {"r2": [a, b]}))
        c.on("cb_result", lambda data: c.inbox.add("cb_result", data))

    c = clients(url_of(servers, mode), transport, setup=setup)
    assert c.call("echo_ack", (1, "two", {"three": [3]}), timeout=WAIT) == (
        1, "two", {"three": [3]})
    assert c.call("noreturn", timeout=WAIT) is None
    assert c.call("please_call", {"x": 1}, timeout=WAIT) == {
        "call_result": {"got": {"x": 1}, "from": "py"}}
    assert c.call("please_emit_cb", ("A", 2), timeout=WAIT) == "scheduled"
    assert c.inbox.wait("cb_result") == [["r1", {"r2": ["A", 2]}]]


@pytest.mark.parametrize(("mode", "transport"), SMOKE)
def test_binary_nested_both_ways(servers: ServerPool, clients: Any, mode: str,
                                 transport: str) -> None:
    def setup(c: Any) -> None:
        c.on("bin_push", lambda *args: c.inbox.add("bin_push", args))

    c = clients(url_of(servers, mode), transport, setup=setup)
    payload = {"list": [{"b": b"\x00\x01\xff"}, b"x" * 3000], "s": "x"}
    echoed = c.call("bin_echo", (payload, b"tail"), timeout=WAIT)
    assert echoed["types"] == [{"list": [{"b": "bytes:3"}, "bytes:3000"], "s": "x"}, "bytes:4"]
    assert echoed["data"] == [payload, b"tail"]
    assert c.call("want_bin", timeout=WAIT) == "sent"
    assert c.inbox.wait("bin_push") == [
        (b"raw", {"x": [b"\xff\x00", {"y": bytes(range(256))}]}, "text")]


@pytest.mark.parametrize(("mode", "transport"), FULL)
def test_rooms_and_broadcast_with_skip_sid(servers: ServerPool, clients: Any, mode: str,
                                           transport: str) -> None:
    def setup(c: Any) -> None:
        c.on("room_msg", lambda data: c.inbox.add("room_msg", data))

    url = url_of(servers, mode)
    a, b_, c = (clients(url, transport, setup=setup) for _ in range(3))
    room1, room2 = f"py-a-{uuid.uuid4().hex}", f"py-b-{uuid.uuid4().hex}"
    assert set(a.call("join", room1, timeout=WAIT)) == {a.get_sid("/"), room1}
    assert set(b_.call("join", room1, timeout=WAIT)) == {b_.get_sid("/"), room1}
    assert set(c.call("join", room2, timeout=WAIT)) == {c.get_sid("/"), room2}
    a.call("broadcast", {"room": room1, "msg": "m1", "skip_self": True}, timeout=WAIT)
    b_.inbox.wait("room_msg")
    a.call("broadcast", {"room": room2, "msg": "m2", "skip_self": False}, timeout=WAIT)
    c.inbox.wait("room_msg")
    assert b_.call("leave", room1, timeout=WAIT) == [b_.get_sid("/")]
    a.call("broadcast", {"room": room1, "msg": "m3", "skip_self": False}, timeout=WAIT)
    a.inbox.wait("room_msg")
    a.call("close_room", room2, timeout=WAIT)
    a.call("broadcast", {"room": room2, "msg": "m4", "skip_self": False}, timeout=WAIT)
    for client in (a, b_, c):
        client.call("whoami", timeout=WAIT)  # flush anything in flight
    assert (a.inbox.get("room_msg"), b_.inbox.get("room_msg"), c.inbox.get("room_msg")) == (
        ["m3"], ["m1"], ["m2"])


@pytest.mark.parametrize(("mode", "transport"), SMOKE)
def test_server_side_disconnect(servers: ServerPool, clients: Any, mode: str,
                                transport: str) -> None:
    def setup(c: Any) -> None:
        c.on("disconnect", lambda *args: c.inbox.add("disconnect", list(args)))

    url = url_of(servers, mode)
    kicked = clients(url, transport, setup=setup)
    observer = clients(url, transport)
    sid = kicked.get_sid("/")
    kicked.emit("kick_me")
    assert kicked.inbox.wait("disconnect") == [["server disconnect"]]
    assert observer.call("get_log", sid, timeout=WAIT) == {
        "connect": ["ok"], "disconnect": ["server disconnect"]}


@pytest.mark.parametrize(("mode", "transport"), SMOKE)
def test_simple_client(servers: ServerPool, mode: str, transport: str) -> None:
    with peer.SimpleClient() as client:
        client.connect(url_of(servers, mode), transports=[transport], auth={"s": 1},
                       wait_timeout=WAIT)
        assert client.call("whoami", timeout=WAIT)["sid"] == client.sid
        assert client.call("get_auth", timeout=WAIT)["auth"] == {"s": 1}
        client.emit("want_bin")
        assert client.receive(timeout=WAIT) == [
            "bin_push", b"raw", {"x": [b"\xff\x00", {"y": bytes(range(256))}]}, "text"]


@pytest.mark.parametrize(("mode", "transport"), FULL)
def test_msgpack_serializer(servers: ServerPool, mode: str, transport: str) -> None:
    """python-socketio's own msgpack packets against serializer='msgpack'."""
    url = servers.get(mode, serializer="msgpack").url
    client = peer.Client(reconnection=False, serializer="msgpack")
    inbox = Inbox()
    client.on("bin_push", lambda *args: inbox.add("bin_push", args))
    client.on("server_asks", lambda data: {"got": data, "from": "py"})
    client.connect(url, transports=[transport], namespaces=["/", "/chat"], wait_timeout=WAIT)
    try:
        assert client.call("whoami", timeout=WAIT)["sid"] == client.get_sid("/")
        assert client.call("ns_echo", "c", namespace="/chat", timeout=WAIT)["ns"] == "/chat"
        echoed = client.call("bin_echo", ({"k": [b"\x00\x01"]}, b"t"), timeout=WAIT)
        assert echoed == {"types": [{"k": ["bytes:2"]}, "bytes:1"],
                          "data": [{"k": [b"\x00\x01"]}, b"t"]}
        assert client.call("please_call", [1], timeout=WAIT) == {
            "call_result": {"got": [1], "from": "py"}}
        assert client.call("want_bin", timeout=WAIT) == "sent"
        assert inbox.wait("bin_push") == [
            (b"raw", {"x": [b"\xff\x00", {"y": bytes(range(256))}]}, "text")]
    finally:
        threading.Thread(target=client.disconnect, daemon=True).start()


async def _async_session(url: str, transport: str) -> dict[str, Any]:
    client = peer.AsyncClient(reconnection=False)
    pushed: asyncio.Queue[Any] = asyncio.Queue()
    disconnected = asyncio.Event()

    @client.on("server_asks")
    async def server_asks(data: Any) -> Any:
        await asyncio.sleep(0)
        return {"got": data, "from": "async"}

    @client.on("bin_push")
    async def bin_push(*args: Any) -> None:
        await pushed.put(args)

    @client.on("disconnect")
    async def on_disconnect(*args: Any) -> None:
        disconnected.set()

    await client.connect(url, transports=[transport], auth={"a": 1}, wait_timeout=WAIT)
    try:
        out = {
            "sid_ok": (await client.call("whoami", timeout=WAIT))["sid"] == client.get_sid("/"),
            "auth": (await client.call("get_auth", timeout=WAIT))["auth"],
            "called": await client.call("please_call", [1, 2], timeout=WAIT),
            "echo": await client.call("bin_echo", {"k": [b"\x00\x01"]}, timeout=WAIT),
            "sent": await client.call("want_bin", timeout=WAIT),
        }
        out["pushed"] = await asyncio.wait_for(pushed.get(), WAIT)
        await client.emit("kick_me")
        await asyncio.wait_for(disconnected.wait(), WAIT)
        out["connected_after_kick"] = client.connected
        return out
    finally:
        await client.disconnect()


@pytest.mark.parametrize(("mode", "transport"), [
    pytest.param(m, t, id=f"{m}-{t}")
    for m in ("asgi", "aiohttp", "threading") for t in ("polling", "websocket")])
def test_async_client_session(servers: ServerPool, mode: str, transport: str) -> None:
    out = asyncio.run(asyncio.wait_for(_async_session(url_of(servers, mode), transport), 40))
    assert out["sid_ok"] is True
    assert out["auth"] == {"a": 1}
    assert out["called"] == {"call_result": {"got": [1, 2], "from": "async"}}
    assert out["echo"] == {"types": [{"k": ["bytes:2"]}], "data": [{"k": [b"\x00\x01"]}]}
    assert out["sent"] == "sent"
    assert out["pushed"] == (b"raw", {"x": [b"\xff\x00", {"y": bytes(range(256))}]}, "text")
    assert out["connected_after_kick"] is False
