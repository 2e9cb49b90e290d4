"""Testing Socket.IO consumers in process, on top of Channels' communicators.

    async with SocketIOCommunicator(application, user=alice) as client:
        assert await client.call("join", "lobby") == [["<sid>", "lobby"]]  # ack args
        await client.emit("say", "hi")
        assert await client.wait_for("said") == ["alice: hi"]

``application`` is the project's ASGI application (the ``ProtocolTypeRouter`` of
``asgi.py``), so its middlewares run as in production. ``user=`` logs that user in first
(a session is created in the session store, like ``Client.force_login``) and sends its
cookie. The Engine.IO transport is a websocket (``WebsocketCommunicator``) or
long-polling (one ``HttpCommunicator`` per request); heartbeats are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async

from ..errors import ConnectionRefusedError  # noqa: A004
from ..protocol.connection import ClientConnection
from ..protocol.engine.packets import (
    PacketType,
    decode_frame,
    decode_payload,
    encode_payload,
    message_frame,
)
from ..protocol.events import Ack, Connect, ConnectError, Disconnect, Event
from ..protocol.packets import get_serializer
from .conf import require_channels

Headers = Mapping[str, str] | Sequence[tuple[bytes, bytes]]


def force_login_cookie(user: Any, backend: str | None = None) -> tuple[str, str]:
    """Log ``user`` in to a new session; returns the session cookie (name, value).

    Synchronous (it writes the session store); ``await sync_to_async(...)`` it in async code.
    """
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import login
    from django.http import HttpRequest

    if backend is None:
        backend = settings.AUTHENTICATION_BACKENDS[0]
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(request, user, backend)
    request.session.save()
    return settings.SESSION_COOKIE_NAME, str(request.session.session_key)


class SocketIOCommunicator:
    """One Socket.IO client connection to an ASGI application, in process.

    ``connect()`` (or ``async with``) raises
    :class:`~sio_integrations.errors.ConnectionRefusedError` with the server's payload in
    ``error_args`` when the connection is refused (also a websocket closed before it was
    accepted, with ``{"message": "websocket refused", "data": {"code": ...}}``).
    """

    def __init__(self, application: Any, path: str = "/socket.io/", *,
                 namespace: str = "/", auth: Any = None, headers: Headers | None = None,
                 query: Mapping[str, str] | None = None, user: Any = None,
                 origin: str | None = None, transport: str = "websocket",
                 timeout: float = 5.0) -> None:
        if transport not in ("websocket", "polling"):
            raise ValueError("transport must be 'websocket' or 'polling'")
        self.application = application
        self.path = "/" + path.strip("/") + "/"
        self.namespace = namespace
        self.auth = auth
        self.query = dict(query or {})
        self.user = user
        self.transport = transport
        self.timeout = timeout
        self.headers: list[tuple[bytes, bytes]] = _raw_headers(headers or ())
        if origin is not None:
            self.headers.append((b"origin", origin.encode("latin-1")))
        self.sid: str | None = None
        self.eio_sid: str | None = None
        self.connected = False
        self._conn = ClientConnection(get_serializer("default"))
        self._events: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue()
        self._acks: dict[int, asyncio.Future[list[Any]]] = {}
        self._handshake: asyncio.Future[Any] | None = None
        self._next_ack = 0
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    # -- connecting ---------------------------------------------------------------------

    async def connect(self) -> str:
        """Open the transport and join the namespace; returns the namespace sid."""
        require_channels("SocketIOCommunicator")
        if self.user is not None:
            name, value = await sync_to_async(force_login_cookie, thread_sensitive=True)(
                self.user)
            self.headers.append((b"cookie", f"{name}={value}".encode("latin-1")))
        self._handshake = asyncio.get_running_loop().create_future()
        if self.transport == "websocket":
            await self._open_websocket()
        else:
            await self._open_polling()
        frames = self._conn.send(Connect(namespace=self.namespace, data=self.auth))
        await self._send_frames(frames)
        try:
            result = await asyncio.wait_for(asyncio.shield(self._handshake), self.timeout)
        except asyncio.TimeoutError:
            await self.disconnect()
            raise
        if isinstance(result, ConnectError):
            await self.disconnect()
            data = result.data if isinstance(result.data, dict) else {"message": result.data}
            refused = ConnectionRefusedError(data.get("message", "refused"),
                                             *(() if "data" not in data else (data["data"],)))
            raise refused
        self.sid = str(result.data["sid"])
        self.connected = True
        return self.sid

    async def _open_websocket(self) -> None:
        from channels.testing import WebsocketCommunicator

        query = urlencode({"EIO": "4", "transport": "websocket", **self.query})
        self._ws = WebsocketCommunicator(self.application, f"{self.path}?{query}",
                                         headers=self.headers)
        accepted, code = await self._ws.connect(timeout=self.timeout)
        if not accepted:
            raise ConnectionRefusedError("websocket refused", {"code": code})
        opening = decode_frame(await self._ws.receive_from(timeout=self.timeout))
        self._opened(opening.data)
        self._reader = asyncio.ensure_future(self._read_websocket())

    async def _open_polling(self) -> None:
        status, body = await self._http("GET", self._polling_query())
        if status != 200:
            raise ConnectionRefusedError("polling refused", {"status": status,
                                                             "body": body.decode()})
        packets = decode_payload(body.decode())
        self._opened(str(packets[0].data))
        self._reader = asyncio.ensure_future(self._read_polling())

    def _opened(self, data: str | bytes) -> None:
        info = json.loads(data)
        self.eio_sid = info["sid"]
        self.ping_interval = info["pingInterval"] / 1000
        self.ping_timeout = info["pingTimeout"] / 1000

    # -- talking ------------------------------------------------------------------------

    async def emit(self, event: str, *args: Any) -> None:
        """Send an event (no acknowledgement asked)."""
        await self._send_frames(self._conn.send(
            Event(namespace=self.namespace, name=event, args=list(args))))

    async def call(self, event: str, *args: Any, timeout: float | None = None) -> list[Any]:
        """Send an event and return the arguments of its acknowledgement."""
        self._next_ack += 1
        ack_id = self._next_ack
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        await self._send_frames(self._conn.send(
            Event(namespace=self.namespace, name=event, args=list(args), ack_id=ack_id)))
        try:
            return await asyncio.wait_for(future, timeout or self.timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def receive(self, timeout: float | None = None) -> tuple[str, list[Any]]:
        """The next event the server sent: ``(name, args)``."""
        return await asyncio.wait_for(self._events.get(), timeout or self.timeout)

    async def wait_for(self, event: str, timeout: float | None = None) -> list[Any]:
        """The arguments of the next ``event`` (other events received meanwhile are dropped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            name, args = await self.receive(max(deadline - time.monotonic(), 0.001))
            if name == event:
                return args

    def get_received(self) -> list[tuple[str, list[Any]]]:
        """Every event received and not consumed yet."""
        received = []
        while not self._events.empty():
            received.append(self._events.get_nowait())
        return received

    async def disconnect(self) -> None:
        """Leave the namespace and close the transport (idempotent)."""
        if self._closed.is_set():
            return
        if self.connected:
            with contextlib.suppress(Exception):
                await self._send_frames(self._conn.send(Disconnect(namespace=self.namespace)))
        self.connected = False
        self._closed.set()
        if self.transport == "polling" and self.eio_sid is not None:
            with contextlib.suppress(Exception):
                await self._http("POST", self._polling_query(), b"1")
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.disconnect()

    async def __aenter__(self) -> SocketIOCommunicator:
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.disconnect()

    # -- transport ----------------------------------------------------------------------

    async def _send_frames(self, frames: list[str | bytes]) -> None:
        if self.transport == "websocket":
            for frame in frames:
                if isinstance(frame, bytes):
                    await self._ws.send_to(bytes_data=frame)
                else:
                    await self._ws.send_to(text_data=message_frame(frame))
            return
        body = encode_payload([message_frame(f) if isinstance(f, str) else f for f in frames])
        status, answer = await self._http("POST", self._polling_query(), body.encode())
        if status != 200:
            raise ConnectionError(f"POST answered {status}: {answer!r}")

    async def _read_websocket(self) -> None:
        while not self._closed.is_set():
            message = await self._ws.receive_output(timeout=3600)
            if message["type"] == "websocket.close":
                break
            data = message.get("text")
            await self._packet(decode_frame(data if data is not None else message["bytes"]))
        self._lost()

    async def _read_polling(self) -> None:
        wait = self.ping_interval + self.ping_timeout + 5
        while not self._closed.is_set():
            status, body = await self._http("GET", self._polling_query(), timeout=wait)
            if status != 200:
                break
            for packet in decode_payload(body.decode()):
                await self._packet(packet)
        self._lost()

    async def _packet(self, packet: Any) -> None:
        if packet.type == PacketType.PING:
            if self.transport == "websocket":
                await self._ws.send_to(text_data="3")
            else:
                await self._http("POST", self._polling_query(), b"3")
        elif packet.type == PacketType.CLOSE:
            self._closed.set()
        elif packet.type == PacketType.MESSAGE:
            event = self._conn.receive_data(packet.data, time.monotonic())
            if event is not None:
                self._dispatch(event)

    def _dispatch(self, event: Any) -> None:
        handshake = self._handshake
        if isinstance(event, (Connect, ConnectError)):
            if handshake is not None and not handshake.done():
                handshake.set_result(event)
        elif isinstance(event, Event):
            self._events.put_nowait((event.name, list(event.args)))
        elif isinstance(event, Ack):
            future = self._acks.get(event.ack_id)
            if future is not None and not future.done():
                future.set_result(list(event.args))
        elif isinstance(event, Disconnect):
            self.connected = False

    def _lost(self) -> None:
        self.connected = False
        for future in self._acks.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))

    def _polling_query(self) -> str:
        params = {"EIO": "4", "transport": "polling", **self.query}
        if self.eio_sid is not None:
            params["sid"] = self.eio_sid
        return urlencode(params)

    async def _http(self, method: str, query: str, body: bytes = b"",
                    timeout: float | None = None) -> tuple[int, bytes]:
        from channels.testing import HttpCommunicator

        headers = list(self.headers)
        if body:
            headers.append((b"content-type", b"text/plain;charset=UTF-8"))
        communicator = HttpCommunicator(self.application, method, f"{self.path}?{query}",
                                        body=body, headers=headers)
        response = await communicator.get_response(timeout=timeout or self.timeout)
        return int(response["status"]), bytes(response.get("body", b""))


def _raw_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    if isinstance(headers, Mapping):
        return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return [(bytes(k), bytes(v)) for k, v in headers]
