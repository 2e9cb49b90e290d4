"""The Socket.IO application every interop server mode serves.

The handlers are written once, as coroutines, against :class:`Api`. For an
``AsyncServer`` the adapter awaits the real methods; for a sync ``Server`` the
adapter's coroutines never suspend, so :func:`run_sync` drives each handler to
completion with a single ``send(None)``. This keeps the sync and async servers
behaviourally identical without two hand-kept copies of every handler.

Only python-socketio's public 5.x API is used, so the same app runs on the
reference implementation and on ours (``SIO_IMPL``).
"""

from __future__ import annotations

import importlib
import inspect
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

# Observations the tests query over the wire (see the ``get_log`` event).
CONNECTS: dict[str, list[Any]] = defaultdict(list)
DISCONNECTS: dict[str, list[Any]] = defaultdict(list)
ORDER: dict[str, list[Any]] = defaultdict(list)
STREAM: dict[str, list[Any]] = defaultdict(list)
POISON = "FAKE-FROM-CLIENT"  # an argument only a misbehaving client would send


def load_socketio(impl: str) -> Any:
    """Return the module under test: ours or python-socketio."""
    if impl == "reference":
        return importlib.import_module("socketio")
    if impl == "ours":
        return importlib.import_module("sio_integrations")
    raise ValueError(f"unknown SIO_IMPL {impl!r}")


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (sync server) and return its value."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("a handler suspended on a sync server")


class Api:
    """Awaitable facade over a sync or async server."""

    def __init__(self, sio: Any, is_async: bool) -> None:
        self.sio = sio
        self.is_async = is_async

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.sio, name)(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def emit(self, *a: Any, **k: Any) -> Any:
        return await self._call("emit", *a, **k)

    async def send(self, *a: Any, **k: Any) -> Any:
        return await self._call("send", *a, **k)

    async def call(self, *a: Any, **k: Any) -> Any:
        return await self._call("call", *a, **k)

    async def enter_room(self, *a: Any, **k: Any) -> Any:
        return await self._call("enter_room", *a, **k)

    async def leave_room(self, *a: Any, **k: Any) -> Any:
        return await self._call("leave_room", *a, **k)

    async def close_room(self, *a: Any, **k: Any) -> Any:
        return await self._call("close_room", *a, **k)

    async def get_session(self, *a: Any, **k: Any) -> Any:
        return await self._call("get_session", *a, **k)

    async def save_session(self, *a: Any, **k: Any) -> Any:
        return await self._call("save_session", *a, **k)

    async def disconnect(self, *a: Any, **k: Any) -> Any:
        return await self._call("disconnect", *a, **k)

    async def sleep(self, seconds: float) -> Any:
        return await self._call("sleep", seconds)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return sorted(self.sio.rooms(sid, namespace=namespace))

    def transport(self, sid: str, namespace: str | None = None) -> str:
        return str(self.sio.transport(sid, namespace=namespace))

    def spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self.is_async:
            self.sio.start_background_task(fn, *args)
        else:
            self.sio.start_background_task(lambda: run_sync(fn(*args)))


def describe(value: Any) -> Any:
    """A JSON-able shape of a decoded payload (bytes -> 'bytes:<len>')."""
    if isinstance(value, (bytes, bytearray)):
        return f"bytes:{len(value)}"
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    return value


def register(sio: Any, api: Api, refused: type[Exception]) -> None:
    """Register every scenario handler on ``sio``."""

    def on(event: str, namespace: str = "/") -> Callable[[Any], Any]:
        def deco(fn: Callable[..., Coroutine[Any, Any, Any]]) -> Any:
            if api.is_async:
                sio.on(event, namespace=namespace)(fn)
            else:
                def sync_handler(*args: Any) -> Any:
                    return run_sync(fn(*args))
                sio.on(event, namespace=namespace)(sync_handler)
            return fn
        return deco

    @on("connect")
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        if not isinstance(environ, dict):  # the real handshake always passes a dict
            CONNECTS[sid].append(POISON)
            return
        CONNECTS[sid].append("ok")
        if isinstance(auth, dict) and auth.get("reject"):
            raise refused("not allowed", {"k": "v"})
        await api.save_session(sid, {"auth": auth, "query": environ.get("QUERY_STRING", "")})

    @on("disconnect")
    async def disconnect(sid: str, reason: Any = None) -> None:
        DISCONNECTS[sid].append(str(reason))

    @on("whoami")
    async def whoami(sid: str, *args: Any) -> Any:
        return {"sid": sid, "transport": api.transport(sid), "args": describe(list(args))}

    @on("message")
    async def message(sid: str, data: Any = None) -> Any:
        return ["message", data]

    @on("get_auth")
    async def get_auth(sid: str) -> Any:
        session = await api.get_session(sid)
        return {"auth": session.get("auth"), "query": session.get("query")}

    @on("echo_ack")
    async def echo_ack(sid: str, *args: Any) -> Any:
        return tuple(args)

    @on("noreturn")
    async def noreturn(sid: str, *args: Any) -> None:
        return None

    @on("please_call")
    async def please_call(sid: str, payload: Any) -> Any:
        result = await api.call("server_asks", payload, to=sid, timeout=10)
        return {"call_result": result}

    @on("please_emit_cb")
    async def please_emit_cb(sid: str, a: Any, b: Any) -> Any:
        async def send_result(args: tuple[Any, ...]) -> None:
            await api.emit("cb_result", list(args), to=sid)

        def callback(*args: Any) -> None:
            api.spawn(send_result, args)

        async def ask() -> None:
            await api.emit("server_asks_cb", (a, b), to=sid, callback=callback)

        api.spawn(ask)
        return "scheduled"

    @on("bin_echo")
    async def bin_echo(sid: str, *args: Any) -> Any:
        return {"types": describe(list(args)), "data": list(args)}

    @on("please_call_bin")
    async def please_call_bin(sid: str) -> Any:
        result = await api.call("server_asks_bin", b"\x01question", to=sid, timeout=10)
        return {"types": describe(result), "result": result}

    @on("want_bin")
    async def want_bin(sid: str) -> Any:
        payload = (b"raw", {"x": [b"\xff\x00", {"y": bytes(range(256))}]}, "text")
        await api.emit("bin_push", payload, to=sid)
        return "sent"

    @on("join")
    async def join(sid: str, room: str) -> Any:
        await api.enter_room(sid, room)
        return api.rooms(sid)

    @on("leave")
    async def leave(sid: str, room: str) -> Any:
        await api.leave_room(sid, room)
        return api.rooms(sid)

    @on("close_room")
    async def close_room(sid: str, room: str) -> Any:
        await api.close_room(room)
        return "closed"

    @on("broadcast")
    async def broadcast(sid: str, spec: dict[str, Any]) -> Any:
        skip = sid if spec.get("skip_self") else None
        await api.emit("room_msg", spec["msg"], to=spec["room"], skip_sid=skip)
        return "done"

    @on("broadcast_bin")
    async def broadcast_bin(sid: str, room: str) -> Any:
        payload = {"blob": bytes(range(10)), "list": [b"\x00", "x", {"deep": b"\xfe\xff"}]}
        await api.emit("room_bin", payload, to=room)
        return "done"

    @on("kick_me")
    async def kick_me(sid: str) -> None:
        await api.disconnect(sid)

    @on("connect_count")
    async def connect_count(sid: str) -> int:
        return sum(log.count("ok") for log in list(CONNECTS.values()))

    @on("websocket_count")
    async def websocket_count(sid: str) -> int:
        """Connected sockets on the websocket transport (an upgrade finished)."""
        count = 0
        for other, log in list(CONNECTS.items()):
            if "ok" not in log or other in DISCONNECTS:
                continue
            try:
                count += api.transport(other) == "websocket"
            except Exception:  # gone meanwhile
                pass
        return count

    @on("get_log")
    async def get_log(sid: str, target: str) -> Any:
        return {"connect": CONNECTS.get(target, []), "disconnect": DISCONNECTS.get(target, [])}

    @on("size")
    async def size(sid: str, data: Any) -> Any:
        return {"type": type(data).__name__, "len": len(data)}

    @on("ordered")
    async def ordered(sid: str, index: int) -> Any:
        if index == 0:
            await api.sleep(0.3)
        ORDER[sid].append(index)
        return index

    @on("sleep_for")
    async def sleep_for(sid: str, seconds: float) -> Any:
        await api.sleep(seconds)
        return "slept"

    @on("stream_to_me")
    async def stream_to_me(sid: str, count: int, gap: float) -> Any:
        async def ticks() -> None:
            for i in range(count):
                await api.emit("tick", i, to=sid)
                if gap:
                    await api.sleep(gap)
            await api.emit("tick_done", count, to=sid)

        api.spawn(ticks)
        return "started"

    @on("stream_in")
    async def stream_in(sid: str, index: int) -> None:
        STREAM[sid].append(index)

    @on("stream_in_result")
    async def stream_in_result(sid: str) -> Any:
        return STREAM.get(sid, [])

    @on("get_order")
    async def get_order(sid: str) -> Any:
        return ORDER.get(sid, [])

    @on("*")
    async def catch_all(event: str, sid: str, *args: Any) -> Any:
        return {"caught": event, "args": describe(list(args))}

    @on("send_me")
    async def send_me(sid: str, data: Any) -> Any:
        await api.send(data, to=sid)
        return "sent"

    @on("multi_room")
    async def multi_room(sid: str, rooms: list[str]) -> Any:
        for room in rooms:
            await api.enter_room(sid, room)
        await api.emit("multi", rooms, to=rooms)
        return "done"

    # -- namespace /chat --------------------------------------------------
    @on("connect", namespace="/chat")
    async def chat_connect(sid: str, environ: Any, auth: Any = None) -> None:
        CONNECTS[sid].append("chat" if isinstance(environ, dict) else POISON)
        if isinstance(auth, dict) and auth.get("reject"):
            raise refused("chat refused", {"ns": "/chat"})

    @on("disconnect", namespace="/chat")
    async def chat_disconnect(sid: str, reason: Any = None) -> None:
        DISCONNECTS[sid].append(str(reason))

    @on("ns_echo", namespace="/chat")
    async def chat_echo(sid: str, data: Any) -> Any:
        return {"ns": "/chat", "sid": sid, "data": data}

    @on("ns_echo")
    async def root_echo(sid: str, data: Any) -> Any:
        return {"ns": "/", "sid": sid, "data": data}

    @on("kick_me", namespace="/chat")
    async def chat_kick(sid: str) -> None:
        await api.disconnect(sid, namespace="/chat")

    @on("ns_push", namespace="/chat")
    async def chat_push(sid: str, data: Any) -> Any:
        await api.emit("ns_msg", {"ns": "/chat", "data": data}, to=sid, namespace="/chat")
        return "pushed"


def build(impl: str, async_mode: str, **options: Any) -> tuple[Any, Any]:
    """Create the server for ``async_mode``; return ``(sio, socketio_module)``."""
    socketio_mod = load_socketio(impl)
    is_async = async_mode in ("asgi", "aiohttp")
    cls = socketio_mod.AsyncServer if is_async else socketio_mod.Server
    options.setdefault("max_http_buffer_size", 2_000_000)
    sio = cls(async_mode=async_mode, **options)
    register(sio, Api(sio, is_async), socketio_mod.exceptions.ConnectionRefusedError)
    return sio, socketio_mod
