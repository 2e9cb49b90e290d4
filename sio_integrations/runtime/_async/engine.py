"""The Engine.IO v4 server (asyncio source; the sync ``Engine`` is generated from it).

Decisions come from :mod:`sio_integrations.protocol.engine`; these modules only move bytes
between the host (through a driver) and the handler. Layers, one concern each:
:mod:`.engine_core` (client state, delivery, closing, heartbeat service),
:mod:`.engine_transports` (long polling and websocket), this module (public API, request
dispatch and handshake).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from ...protocol.engine import http as eio_http
from ...protocol.engine.packets import base64_frame, message_frame
from ...protocol.engine.requests import (
    EngineRequest,
    ErrorCode,
    RequestError,
    RequestKind,
    classify_request,
    origin_allowed,
    parse_query,
    session_request,
    unknown_sid,
)
from ...protocol.engine.session import POLLING, WEBSOCKET, Session, open_frame
from ..drivers import Environ
from .engine_core import AsyncEngineHandler, _Client
from .engine_transports import AsyncEngineTransports

__all__ = ["AsyncEngine", "AsyncEngineHandler"]


class AsyncEngine(AsyncEngineTransports):
    """An Engine.IO v4 server for one async mode (default ``"asgi"``).

    ``AsyncEngine(options, handler, *, async_mode=None, logger=None)``; see docs/engine.md.
    """

    # -- public API -----------------------------------------------------------------------
    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """Serve one host request (ASGI ``scope, receive, send``; aiohttp ``request``...)."""
        translate_now = self._translate_now
        if translate_now is not None:  # (a coroutine less per request)
            environ = translate_now(*args, **kwargs)
        else:
            environ = await self.driver.translate(*args, **kwargs)
        return await self._dispatch(environ)

    async def send(self, eio_sid: str, data: str | bytes) -> None:
        """Send one message packet (FIFO per client); unknown sids are ignored."""
        client = self._clients.get(eio_sid)
        if client is None:
            return
        if data.__class__ is str:
            frame: str | bytes = self._text_frame(data)
        else:
            frame = _binary_frame(client, data)
        direct = client.direct
        if direct is not None and not client.writing:
            if not client.closed and not direct(frame):
                await self._overflow(client)
            return
        ws = client.ws
        if ws is None:  # long polling (or an upgrade under way)
            await self._deliver(client, [frame])
            return
        # the websocket hot path, inlined: claim the writer or queue behind it
        with client.mutex:
            if client.closed:
                return
            if client.writing:
                if client.queued > self._send_limit:
                    return  # overflowing: the client is being closed
                client.pending.append(frame)
                client.queued += len(frame)
                if client.queued <= self._send_limit:
                    return
                overflow = True
            else:
                client.writing = True
                overflow = False
        if overflow:
            await self._overflow(client)
            return
        try:
            await ws.send(frame)
        except Exception:
            await self._write_failed(client)
            return
        with client.mutex:
            if not client.pending:
                client.writing = False
                return
            frames = list(client.pending)
            client.pending.clear()
            client.queued = 0
        await self._write_claimed(client, frames)

    def send_now(self, eio_sid: str, data: str | bytes) -> bool:
        """Send at once when the client's websocket takes synchronous writes.

        False means nothing was sent: the caller awaits :meth:`send` instead. The
        Socket.IO layer tries this first, saving a coroutine per message (broadcasts:
        :meth:`send_now_each`).
        """
        client = self._clients.get(eio_sid)
        if client is None:
            return True
        direct = client.direct
        if direct is None or client.writing or data.__class__ is not str:
            return False
        if client.closed:
            return True
        # one message to one client (an ack, say): not worth the broadcast frame cache
        if not direct("4" + data):
            self.backend.run_soon(self._overflow, client)
        return True

    def send_now_each(self, eio_sids: Iterable[str], data: str) -> list[str]:
        """:meth:`send_now` of one text message to many clients (a broadcast).

        The frame is built once and each direct websocket written in one plain loop.
        Returns the sids that could not be written at once: the caller awaits
        :meth:`send` for those. Unknown sids are skipped.
        """
        frame = self._text_frame(data)
        clients, later = self._clients, []
        for eio_sid in eio_sids:
            client = clients.get(eio_sid)
            if client is None:
                continue
            direct = client.direct
            if direct is None or client.writing:
                later.append(eio_sid)
            elif not client.closed and not direct(frame):
                self.backend.run_soon(self._overflow, client)
        return later

    def _text_frame(self, data: str) -> str:
        """The Engine.IO message frame of ``data``; a broadcast passes the same string for
        every member, so the last one is kept (one tuple: atomic for threads)."""
        last = self._last_frame
        if last[0] is data:
            return last[1]  # type: ignore[return-value]
        frame = "4" + data
        self._last_frame = (data, frame)
        return frame

    async def send_many(self, eio_sid: str, items: list[str | bytes]) -> None:
        """Send several message packets, in order."""
        client = self._clients.get(eio_sid)
        if client is not None:
            await self._deliver(client, [
                _binary_frame(client, item) if isinstance(item, (bytes, bytearray, memoryview))
                else message_frame(item) for item in items
            ])

    async def close(self, eio_sid: str, reason: str = "server disconnect") -> None:
        client = self._clients.get(eio_sid)
        if client is not None:
            await self._close_client(client, reason)

    def transport(self, eio_sid: str) -> str:
        return self._clients[eio_sid].session.transport

    def environ(self, eio_sid: str) -> dict[str, Any]:
        return self._clients[eio_sid].environ

    def is_connected(self, eio_sid: str) -> bool:
        client = self._clients.get(eio_sid)
        return client is not None and not client.closed

    def attach(self, app: Any, socketio_path: str = "socket.io") -> None:
        """Route ``socketio_path`` of an aiohttp/Sanic app to this engine."""
        self.driver.create_route(app, self, "/" + socketio_path.strip("/") + "/")

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.backend.spawn(target, *args, **kwargs)

    async def sleep(self, seconds: float = 0) -> None:
        await self.backend.sleep(seconds)

    async def start(self) -> None:
        """Start the heartbeat service now (it also starts with the first session).

        After :meth:`shutdown` this makes the engine usable again, e.g. when a host runs
        the same application's lifespan twice in one process.
        """
        if self._stopping:
            self._stopping = False
            self._stop = self.backend.event()  # a fresh event: the loop may be a new one
        self._start_service()

    async def shutdown(self, grace: float = 0.0) -> None:
        """Close every session ("server shutting down") and stop the heartbeat service.

        With ``grace`` > 0, new sessions are refused at once and the clients get up to that
        many seconds to receive what was already sent to them before they are closed.
        """
        self._stopping = True
        self._stop.set()
        deadline = self.backend.monotonic() + grace
        while self.backend.monotonic() < deadline and any(
                client.writing or client.pending or client.session.outbox
                for client in list(self._clients.values()) if not client.closed):
            await self.backend.sleep(0.02)  # bounded poll: no event tells "all flushed"
        for client in list(self._clients.values()):
            await self._close_client(client, "server shutting down")
        service, self._service = self._service, None
        if service is not None:
            await self.backend.join(service)

    # -- request dispatch ---------------------------------------------------------------
    async def _dispatch(self, environ: Environ) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and not self._cors_disabled:
            policy = self.options.cors_allowed_origins
            if callable(policy):
                complete = getattr(self.driver, "full_environ", None)
                if complete is not None:  # the policy may read any header
                    environ = complete(environ)
            if not origin_allowed(
                origin,
                policy=policy,
                host=environ.get("HTTP_HOST"),
                forwarded_host=environ.get("HTTP_X_FORWARDED_HOST"),
                environ=environ,
            ):
                error = RequestError(code=ErrorCode.FORBIDDEN,
                                     reason=f"origin {origin} not allowed")
                return await self._refuse(environ, error, cors=False)
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        websocket = self.driver.is_websocket(environ)
        usual = None
        if not websocket and "polling" in self._transports:
            usual = session_request(method, query)
        if usual is not None:
            # a long-polling request of a session: the hot path, checked first
            kind, sid = usual
            client = self._clients.get(sid)
            if client is not None and not client.closed and not client.session.timed_out(
                    self.backend.monotonic()):
                if kind is RequestKind.POLL:
                    return await self._poll(environ, client)
                return await self._post(environ, client)
            request = EngineRequest(kind=kind, transport="polling", sid=sid)
        else:
            classified = classify_request(method=method, query=parse_query(query),
                                          websocket=websocket, transports=self._transports)
            if isinstance(classified, RequestError):
                return await self._refuse(environ, classified)
            request = classified
        if request.kind is RequestKind.PREFLIGHT:
            return await self._respond(environ, 204, [], b"", preflight=True)
        if request.kind is RequestKind.HANDSHAKE:
            if self._stopping:
                error = RequestError(code=ErrorCode.BAD_REQUEST, status=503,
                                     reason="server shutting down")
                return await self._refuse(environ, error)
            return await self._handshake(environ, request.transport)
        assert request.sid is not None
        client = self._clients.get(request.sid)
        if client is None or client.closed:
            return await self._refuse(environ, unknown_sid(request.sid))
        if client.session.timed_out(self.backend.monotonic()):
            await self._close_client(client, "ping timeout")
            return await self._refuse(environ, unknown_sid(request.sid))
        if request.kind is RequestKind.UPGRADE:
            return await self._upgrade(environ, client)
        if request.kind is RequestKind.POLL:
            return await self._poll(environ, client)
        return await self._post(environ, client)

    async def _handshake(self, environ: Environ, transport: str) -> Any:
        if transport == WEBSOCKET and not self.driver.supports_websocket:
            error = RequestError(code=ErrorCode.BAD_REQUEST, reason="websocket unavailable")
            return await self._refuse(environ, error)
        sid = secrets.token_urlsafe(15)
        session = Session(
            sid,
            transport=transport,
            now=self.backend.monotonic(),
            ping_interval=self.options.ping_interval,
            ping_timeout=self.options.ping_timeout,
            upgrade_timeout=self.options.upgrade_timeout,
        )
        client = _Client(session, environ, self.backend.mutex(), self.backend.event())
        client.b64 = "b64" in parse_query(environ.get("QUERY_STRING", ""))
        upgrades = (
            ["websocket"]
            if transport == POLLING
            and self.options.allow_upgrades
            and WEBSOCKET in self._transports
            and self.driver.supports_websocket
            else []
        )
        frame = open_frame(
            sid=sid,
            upgrades=upgrades,
            ping_interval=self.options.ping_interval + self.options.ping_interval_grace,
            ping_timeout=self.options.ping_timeout,
            max_payload=self.options.max_http_buffer_size,
        )
        self._start_service()
        if transport == WEBSOCKET:
            return await self.driver.websocket(
                environ, lambda ws: self._websocket_session(client, ws, frame)
            )
        self._clients[sid] = client
        refusal = await self._connect(client)
        if refusal is not None:
            error = RequestError(code=ErrorCode.FORBIDDEN, reason=refusal)
            return await self._refuse(environ, error)
        headers = [("Content-Type", eio_http.PAYLOAD_CONTENT_TYPE)]
        cookie = eio_http.sid_cookie(sid, self.options.cookie)
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        return await self._respond(environ, 200, headers, frame.encode())


def _binary_frame(client: _Client, data: Any) -> str | bytes:
    if client.b64 and isinstance(data, (bytes, bytearray, memoryview)):
        return base64_frame(bytes(data))
    return message_frame(data)
