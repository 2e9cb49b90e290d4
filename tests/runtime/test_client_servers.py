"""Our clients against our own servers (asyncio and WSGI) and python-socketio's server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations import exceptions

from .live import run_asgi, run_wsgi
from .test_client_js import client_threads, until, wait_until


def _async_app(lib: Any) -> Any:
    sio = lib.AsyncServer(async_mode="asgi", namespaces="*")

    @sio.event
    async def connect(sid: str, environ: Any, auth: Any) -> None:
        await sio.save_session(sid, {"auth": auth})

    @sio.event
    async def echo(sid: str, *args: Any) -> Any:
        return args

    @sio.event
    async def whoami(sid: str) -> Any:
        return (await sio.get_session(sid))["auth"]

    @sio.event
    async def ask(sid: str, value: Any) -> Any:
        return await sio.call("question", value, to=sid, timeout=5)

    @sio.event
    async def join(sid: str, room: str) -> None:
        await sio.enter_room(sid, room)

    @sio.event
    async def shout(sid: str, room: str, data: Any) -> None:
        await sio.emit("news", data, to=room)

    @sio.event
    async def bye(sid: str) -> None:
        await sio.disconnect(sid)

    return lib.ASGIApp(sio)


def _wsgi_app() -> Any:
    sio = socketio.Server(async_mode="threading")

    @sio.event
    def echo(sid: str, *args: Any) -> Any:
        return args

    @sio.event
    def whoami(sid: str) -> Any:
        return "wsgi"

    @sio.event
    def ask(sid: str, value: Any) -> Any:
        return sio.call("question", value, to=sid, timeout=5)

    @sio.event
    def join(sid: str, room: str) -> None:
        sio.enter_room(sid, room)

    @sio.event
    def shout(sid: str, room: str, data: Any) -> None:
        sio.emit("news", data, to=room)

    @sio.event
    def bye(sid: str) -> None:
        sio.disconnect(sid)

    return socketio.WSGIApp(sio)


@contextmanager
def serve(kind: str) -> Iterator[str]:
    if kind == "ours-asgi":
        with run_asgi(_async_app(socketio)) as url:
            yield url
    elif kind == "ours-wsgi":
        with run_wsgi(_wsgi_app()) as url:
            yield url
    else:
        python_socketio = pytest.importorskip("socketio")  # the test peer
        with run_asgi(_async_app(python_socketio)) as url:
            yield url


SERVERS = ["ours-asgi", "ours-wsgi", "python-socketio"]
BLOB = {"k": [b"\x00\xff", {"z": b"zz"}]}


# python-engineio's server leaves a cancelled long-poll hanging until its next ping, which
# holds uvicorn's shutdown for 10 s: that peer is exercised over websocket only.
@pytest.mark.parametrize(("kind", "transport"), [
    ("ours-asgi", "polling"), ("ours-asgi", "websocket"), ("ours-wsgi", "polling"),
    ("ours-wsgi", "websocket"), ("python-socketio", "websocket")])
def test_async_client(kind: str, transport: str) -> None:
    async def main(url: str) -> None:
        a = socketio.AsyncClient(reconnection=False)
        b = socketio.AsyncClient(reconnection=False)
        news: list[Any] = []
        reasons: list[str] = []
        a.on("question", lambda value: {"answer": value})
        b.on("news", lambda data: news.append(data))
        a.on("disconnect", lambda reason: reasons.append(reason))
        await a.connect(url, auth={"user": "a"}, transports=[transport])
        await b.connect(url, transports=[transport])
        assert a.transport() == transport
        assert await a.call("echo", (BLOB, 2)) == (BLOB, 2)
        if kind != "ours-wsgi":
            assert await a.call("whoami") == {"user": "a"}
        assert await a.call("ask", b"\x01") == {"answer": b"\x01"}
        await b.call("join", "room")
        await a.emit("shout", ("room", BLOB))
        await until(lambda: news, what="broadcast")
        assert news == [BLOB]
        await a.emit("bye")
        await until(lambda: reasons, what="server disconnect")
        assert reasons == ["server disconnect"]
        await asyncio.wait_for(a.wait(), 5)
        await b.disconnect()
        assert len(asyncio.all_tasks()) == 1

    with serve(kind) as url:
        asyncio.run(main(url))


@pytest.mark.parametrize("kind", SERVERS)
def test_sync_client(kind: str) -> None:
    with serve(kind) as url:
        sio = socketio.Client(reconnection=False)
        sio.on("question", lambda value: [value, value])
        sio.connect(url)
        assert sio.call("echo", BLOB) == BLOB
        assert sio.call("ask", "q") == ["q", "q"]
        got: list[Any] = []
        sio.emit("echo", (1, b"2"), callback=lambda *args: got.append(args))
        wait_until(lambda: got, what="callback")
        assert got == [(1, b"2")]
        sio.disconnect()
        assert client_threads() == []


@pytest.mark.parametrize("kind", ["ours-asgi", "python-socketio"])
def test_async_simple_client(kind: str) -> None:
    async def main(url: str) -> None:
        async with socketio.AsyncSimpleClient(reconnection=False) as client:
            await client.connect(url, auth={"user": "simple"}, transports=["websocket"])
            assert client.sid and client.transport == "websocket" and client.connected
            await client.emit("join", "r")
            await client.emit("shout", ("r", b"\x07"))
            assert await client.receive(timeout=5) == ["news", b"\x07"]
            assert await client.call("echo", (1, 2)) == (1, 2)
            with pytest.raises(exceptions.TimeoutError):
                await client.receive(timeout=0.1)
            await client.emit("bye")
            with pytest.raises(exceptions.DisconnectedError):
                await client.receive(timeout=5)
        assert len(asyncio.all_tasks()) == 1

    with serve(kind) as url:
        asyncio.run(main(url))


def test_sync_simple_client() -> None:
    with serve("ours-wsgi") as url:
        with socketio.SimpleClient() as client:
            client.connect(url)
            client.emit("join", "r")
            client.emit("shout", ("r", {"x": [b"1"]}))
            assert client.receive(timeout=5) == ["news", {"x": [b"1"]}]
            assert client.call("echo", "e") == "e"
            with pytest.raises(exceptions.TimeoutError):
                client.receive(timeout=0.1)
        with pytest.raises(exceptions.DisconnectedError):
            client.receive(timeout=1)
        assert client_threads() == []


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_msgpack_client_and_custom_json(transport: str) -> None:
    pytest.importorskip("msgpack")
    sio_server = socketio.AsyncServer(async_mode="asgi", serializer="msgpack")

    @sio_server.event
    async def echo(sid: str, *args: Any) -> Any:
        return args

    class LoudJson:
        """A json module stand-in: proves the client uses the one it was given."""

        calls = 0

        @classmethod
        def dumps(cls, value: Any, **kwargs: Any) -> str:
            import json

            cls.calls += 1
            return json.dumps(value, **kwargs)

        @staticmethod
        def loads(text: str | bytes) -> Any:
            import json

            return json.loads(text)

    async def main(url: str) -> None:
        sio = socketio.AsyncClient(reconnection=False, serializer="msgpack")
        await sio.connect(url, transports=[transport])
        assert await sio.call("echo", (BLOB, 3)) == (BLOB, 3)
        await sio.disconnect()
        plain = socketio.AsyncClient(reconnection=False, json=LoudJson)
        with run_asgi(_async_app(socketio)) as json_url:
            await plain.connect(json_url, transports=[transport])
            assert await plain.call("echo", {"a": 1}) == {"a": 1}
            await plain.disconnect()
        assert LoudJson.calls > 0

    with run_asgi(socketio.ASGIApp(sio_server)) as url:
        asyncio.run(main(url))


def test_async_client_namespace_class_and_its_helpers() -> None:
    server = socketio.AsyncServer(async_mode="asgi")
    heard: list[Any] = []

    @server.on("*", namespace="/room")
    async def anything(event: str, sid: str, *args: Any) -> Any:
        heard.append((event, args))
        return "ok"

    @server.on("connect", namespace="/room")
    async def on_connect(sid: str, environ: Any, auth: Any) -> None:
        await server.emit("hello", "there", to=sid, namespace="/room")

    class Room(socketio.AsyncClientNamespace):
        def __init__(self, namespace: str) -> None:
            super().__init__(namespace)
            self.log: list[Any] = []

        async def on_connect(self) -> None:
            self.log.append("connect")

        async def on_hello(self, who: str) -> None:
            self.log.append(("hello", who))
            self.log.append(("call", await self.call("ask", who)))
            await self.emit("told", {"b": b"\x00"})
            await self.send("plain")

        def on_disconnect(self) -> None:  # the legacy signature, without the reason
            self.log.append("disconnect")

    async def main(url: str) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        room = Room("/room")
        sio.register_namespace(room)
        await sio.connect(url)  # namespaces default to the registered ones
        assert list(sio.namespaces) == ["/room"]
        await until(lambda: len(heard) == 3, what="namespace emits")
        assert heard == [("ask", ("there",)), ("told", ({"b": b"\x00"},)),
                         ("message", ("plain",))]
        # our server sends what its connect handler emits before accepting; like the JS
        # client, such events reach the handlers before "connect"
        assert room.log == [("hello", "there"), ("call", "ok"), "connect"]
        await room.disconnect()
        assert room.log[-1] == "disconnect" and not sio.connected
        with pytest.raises(ValueError):
            sio.register_namespace(socketio.ClientNamespace("/sync-one"))

    with run_asgi(socketio.ASGIApp(server)) as url:
        asyncio.run(main(url))
