"""Our clients against the reference JS server (socket.io 4.8.4 under node)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations import exceptions

from .client_node import NodeServer

TRANSPORTS = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": None}
NESTED = {"list": [b"\x00\x01", {"deep": b"\xff" * 3}], "text": "h\u00e9", "n": 1.5}


@pytest.fixture(scope="module")
def node() -> Any:
    with NodeServer() as server:
        yield server


async def until(predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


#: what the threads of a synchronous client (ours and engineio's) run
CLIENT_TARGETS = ("_read_loop_polling", "_read_loop_websocket", "_write_loop", "_drain",
                  "_reconnect_loop", "_ack_timer", "_abort")


def client_threads() -> list[threading.Thread]:
    """Live threads started by synchronous clients (the test's servers have others)."""
    return [t for t in threading.enumerate() if t.name.endswith(
        tuple(f"({target})" for target in CLIENT_TARGETS))]


def wait_until(predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_async_client_against_js_server(node: NodeServer, transport: str) -> None:
    async def main() -> None:
        sio = socketio.AsyncClient(reconnection=False)
        seen: list[Any] = []
        disconnects: list[tuple[str, str]] = []

        @sio.event
        async def welcome(data: Any) -> None:
            seen.append(("welcome", data["nsp"]))

        @sio.on("welcome", namespace="/chat")
        def chat_welcome(data: Any) -> None:  # plain functions work in AsyncClient too
            seen.append(("welcome", data["nsp"]))

        @sio.on("*")
        async def catch_all(event: str, *args: Any) -> None:
            seen.append((event, args))

        @sio.on("question")
        async def question(a: int, b: bytes) -> Any:
            return a + 1, {"got": b, "more": [b"\x01\x02"]}

        @sio.event
        async def disconnect(reason: str) -> None:
            disconnects.append(("/", reason))

        @sio.on("disconnect", namespace="/chat")
        async def chat_disconnect(reason: str) -> None:
            disconnects.append(("/chat", reason))

        await sio.connect(node.url + "/?q=query-value", headers={"X-Test": "header-value"},
                          auth={"token": "ok"}, transports=TRANSPORTS[transport],
                          namespaces=["/", "/chat"])
        assert sio.connected
        assert sio.get_sid("/") and sio.get_sid("/chat") and sio.sid == sio.get_sid("/")
        assert sio.get_sid("/") != sio.get_sid("/chat")
        await until(lambda: len(seen) >= 2, what="welcomes")
        assert sorted(seen) == [("welcome", "/"), ("welcome", "/chat")]
        assert await sio.call("auth") == {"token": "ok"}
        info = await sio.call("handshake")
        assert info["header"] == "header-value" and info["query"] == "query-value"
        if transport == "upgrade":
            await until(lambda: sio.transport() == "websocket", what="upgrade")
        else:
            assert sio.transport() == transport == info["transport"]
        # binary both ways, nested, several arguments
        assert await sio.call("echo", (NESTED, b"raw"), namespace="/chat") == (NESTED, b"raw")
        assert await sio.call("echo", "single") == "single"
        # emit with a callback
        acked = asyncio.Event()
        got: list[Any] = []
        await sio.emit("echo", (1, [b"x"]), callback=lambda *a: (got.extend(a), acked.set()))
        await asyncio.wait_for(acked.wait(), 5)
        assert got == [1, [b"x"]]
        # emit without an ack: the server answers with an event caught by the catch-all
        await sio.emit("echo", {"b": b"\x00"})
        await until(lambda: ("echo_reply", ({"b": b"\x00"},)) in seen, what="echo_reply")
        # the server asks and our handler's return value is its acknowledgement
        answer = await sio.call("ask_client", ("question", [41, b"\x09"]))
        assert answer == {"answer": [42, {"got": b"\x09", "more": [b"\x01\x02"]}]}
        # send() is the message event
        await sio.send("hi")
        await until(lambda: ("echo_reply",) not in seen, what="nothing")
        # an event with no acknowledgement times out
        with pytest.raises(exceptions.TimeoutError):
            await sio.call("no-such-event", timeout=0.2)
        # server-side disconnect of one namespace: the other stays connected
        await sio.emit("kick", namespace="/chat")
        await until(lambda: ("/chat", "server disconnect") in disconnects, what="kick")
        assert sio.connected and "/chat" not in sio.namespaces
        assert await sio.call("echo", 5) == 5
        await sio.emit("kick")
        await until(lambda: ("/", "server disconnect") in disconnects, what="kick /")
        await asyncio.wait_for(sio.wait(), 5)  # the server ended it: no reconnection
        assert not sio.connected

    asyncio.run(main())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sync_client_against_js_server(node: NodeServer, transport: str) -> None:
    sio = socketio.Client()
    events: list[Any] = []
    lock = threading.Lock()

    class Chat(socketio.ClientNamespace):
        def on_welcome(self, data: Any) -> None:
            with lock:
                events.append(("chat-welcome", data["nsp"]))

        def on_question(self, value: Any) -> Any:
            return {"double": value * 2}

        def on_disconnect(self, reason: str) -> None:
            with lock:
                events.append(("chat-disconnect", reason))

    sio.register_namespace(Chat("/chat"))

    @sio.on("*")
    def catch_all(event: str, *args: Any) -> None:
        with lock:
            events.append((event, args))

    sio.connect(node.url, transports=TRANSPORTS[transport], namespaces=["/", "/chat"])
    try:
        wait_until(lambda: ("chat-welcome", "/chat") in events, what="chat welcome")
        wait_until(lambda: any(e[0] == "welcome" for e in events), what="welcome")
        assert sio.call("echo", (NESTED, b"\x00"), namespace="/chat") == (NESTED, b"\x00")
        answer = sio.call("ask_client", ("question", [b"ab"]), namespace="/chat")
        assert answer == {"answer": [{"double": b"abab"}]}
        with pytest.raises(exceptions.TimeoutError):
            sio.call("no-such-event", timeout=0.2)
    finally:
        sio.disconnect()
    assert ("chat-disconnect", "client disconnect") in events
    assert client_threads() == []
    assert not sio.connected and sio.get_sid("/chat") is None


def test_rooms_broadcast_reaches_every_member(node: NodeServer) -> None:
    async def main() -> None:
        clients = [socketio.AsyncClient(reconnection=False) for _ in range(3)]
        inbox: dict[int, list[Any]] = {i: [] for i in range(3)}
        for i, client in enumerate(clients):
            client.on("room_msg", lambda data, i=i: inbox[i].append(data))
            await client.connect(node.url, transports=["websocket"])
        await clients[0].call("join", "r1")
        await clients[1].call("join", "r1")
        await clients[2].emit("to_room", ("r1", {"bin": b"\x01", "n": [1, 2]}))
        await until(lambda: inbox[0] and inbox[1], what="room messages")
        assert inbox[0] == inbox[1] == [{"bin": b"\x01", "n": [1, 2]}]
        await clients[2].call("echo", 0)  # the non-member had time to receive it too
        assert inbox[2] == []
        for client in clients:
            await client.disconnect()

    asyncio.run(main())


def test_connect_error_carries_the_servers_data(node: NodeServer) -> None:
    async def main() -> None:
        sio = socketio.AsyncClient()
        errors: list[Any] = []
        sio.on("connect_error", lambda data: errors.append(("/", data)))
        sio.on("connect_error", lambda data: errors.append(("/private", data)),
               namespace="/private")
        with pytest.raises(exceptions.ConnectionError, match="not authorized"):
            await sio.connect(node.url, auth={"token": "bad"}, namespaces=["/"])
        await until(lambda: errors, what="connect_error")
        assert errors == [("/", {"message": "not authorized",
                                 "data": {"code": 42, "token": "bad"}})]
        assert not sio.connected
        errors.clear()
        # one namespace refused by its middleware, the other accepted
        with pytest.raises(exceptions.ConnectionError, match="members only"):
            await sio.connect(node.url, namespaces=["/", "/private"])
        await until(lambda: errors, what="private connect_error")
        assert errors == [("/private", {"message": "private namespace",
                                        "data": {"reason": "members only"}})]
        # an unreachable server: connect_error with the transport's message, then raise
        errors.clear()
        with pytest.raises(exceptions.ConnectionError):
            await sio.connect("http://127.0.0.1:9", namespaces=["/"])
        await until(lambda: errors, what="unreachable connect_error")
        assert not sio.connected and len(asyncio.all_tasks()) == 1

    asyncio.run(main())
