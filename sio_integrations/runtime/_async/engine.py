"""The Engine.IO v4 server shell (asyncio source; the sync ``Engine`` is generated from it).

Decisions come from :mod:`sio_integrations.protocol.engine`; this module only moves bytes
between the host (through a driver) and the handler. Hot path on websocket: a frame is
read, appended to the client's inbox, a drain task (started only when none runs) hands it
to ``engine_message``; ``send`` writes straight to the websocket unless a write is already
in flight, in which case the frame joins a small pending deque that writer flushes.
"""

from __future__ import annotations

import collections
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from ...errors import RemoteProtocolError
from ...options import TRANSPORTS, EngineOptions
from ...protocol.engine import http as eio_http
from ...protocol.engine.packets import (
    CLOSE_FRAME,
    NOOP_FRAME,
    PING_FRAME,
    PONG_PROBE_FRAME,
    PacketType,
    decode_frame,
    decode_payload,
    encode_payload,
    message_frame,
)
from ...protocol.engine.requests import (
    ErrorCode,
    RequestError,
    RequestKind,
    body_too_large,
    check_content_length,
    classify_request,
    origin_allowed,
    parse_query,
    unknown_sid,
)
from ...protocol.engine.session import (
    POLLING,
    WEBSOCKET,
    Heartbeat,
    PollMode,
    Session,
    UpgradeState,
    open_frame,
)
from ..drivers import AsyncDriver, AsyncWebSocket, Environ

# Reasons that come from the peer: messages it sent before leaving are still delivered.
_PEER_REASONS = frozenset(
    {"client disconnect", "transport close", "transport error", "parse error"}
)
# Reasons after which the peer is told with a CLOSE packet.
_TELL_PEER = frozenset({"server disconnect", "server shutting down", "ping timeout"})


class AsyncEngineHandler(Protocol):
    """What the engine calls (the Socket.IO server implements it)."""

    async def engine_connect(self, eio_sid: str, environ: dict[str, Any]) -> None: ...

    async def engine_message(self, eio_sid: str, data: str | bytes) -> None: ...

    async def engine_disconnect(self, eio_sid: str, reason: str) -> None: ...


class _Client:
    """Runtime state of one session next to its sans-IO :class:`Session`."""

    __slots__ = (
        "sid", "session", "environ", "mutex", "poll_event", "ws", "probe", "inbox",
        "draining", "writing", "pending", "closed", "connected", "pending_disconnect",
        "drain_task",
    )

    def __init__(self, session: Session, environ: Environ, mutex: Any, event: Any) -> None:
        self.sid = session.sid
        self.session = session
        self.environ = environ
        self.mutex = mutex
        self.poll_event = event  # wakes a waiting long-polling GET
        self.ws: AsyncWebSocket | None = None  # set once the websocket is the transport
        self.probe: AsyncWebSocket | None = None  # a websocket being upgraded to
        self.inbox: collections.deque[str | bytes] = collections.deque()
        self.draining = False
        self.writing = False
        self.pending: collections.deque[str | bytes] = collections.deque()
        self.closed = False
        self.connected = False
        self.pending_disconnect: str | None = None
        self.drain_task: Any = None  # keeps the running drain task referenced


class AsyncEngine:
    """An Engine.IO v4 server for one async mode (default ``"asgi"``)."""

    def __init__(
        self,
        options: EngineOptions,
        handler: AsyncEngineHandler,
        *,
        async_mode: str | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.options = options
        self.handler = handler
        self.driver = AsyncDriver.load(
            async_mode or options.async_mode, options.max_http_buffer_size
        )
        self.async_mode = self.driver.mode
        self.backend = self.driver.backend
        self.logger = logger or logging.getLogger("sio_integrations.engine")
        self._clients: dict[str, _Client] = {}
        self._transports = tuple(t for t in TRANSPORTS if t in options.transports)
        self._cors_disabled = options.cors_allowed_origins == []
        self._poll_timeout = options.ping_interval + options.ping_timeout
        shortest = min(options.ping_interval, options.ping_timeout, options.upgrade_timeout)
        self._resolution = min(max(shortest / 10, 0.005), 0.5)
        # the service never sleeps past the first ping of a session created meanwhile
        self._max_sleep = min(1.0, options.ping_interval, options.upgrade_timeout)
        self._service: Any = None
        self._stop = self.backend.event()
        self._stopping = False

    # -- public API -----------------------------------------------------------------------
    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """Serve one host request (ASGI ``scope, receive, send``; aiohttp ``request``...)."""
        environ = await self.driver.translate(*args, **kwargs)
        return await self._dispatch(environ)

    async def send(self, eio_sid: str, data: str | bytes) -> None:
        """Send one message packet (FIFO per client); unknown sids are ignored."""
        client = self._clients.get(eio_sid)
        if client is not None:
            frame = "4" + data if data.__class__ is str else message_frame(data)
            await self._deliver(client, [frame])

    async def send_many(self, eio_sid: str, items: list[str | bytes]) -> None:
        """Send several message packets, in order."""
        client = self._clients.get(eio_sid)
        if client is not None:
            await self._deliver(client, [message_frame(item) for item in items])

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

    async def shutdown(self) -> None:
        """Close every session ("server shutting down") and stop the heartbeat service."""
        self._stopping = True
        self._stop.set()
        for client in list(self._clients.values()):
            await self._close_client(client, "server shutting down")
        service, self._service = self._service, None
        if service is not None:
            await self.backend.join(service)

    # -- request dispatch ---------------------------------------------------------------
    async def _dispatch(self, environ: Environ) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        if not self._cors_disabled and not origin_allowed(
            origin,
            policy=self.options.cors_allowed_origins,
            host=environ.get("HTTP_HOST"),
            forwarded_host=environ.get("HTTP_X_FORWARDED_HOST"),
            environ=environ,
        ):
            error = RequestError(code=ErrorCode.FORBIDDEN, reason=f"origin {origin} not allowed")
            return await self._refuse(environ, error, cors=False)
        request = classify_request(
            method=environ.get("REQUEST_METHOD", "GET"),
            query=parse_query(environ.get("QUERY_STRING", "")),
            websocket=self.driver.is_websocket(environ),
            transports=self._transports,
        )
        if isinstance(request, RequestError):
            return await self._refuse(environ, request)
        if request.kind is RequestKind.PREFLIGHT:
            return await self._respond(environ, 204, [], b"", preflight=True)
        if request.kind is RequestKind.HANDSHAKE:
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

    async def _respond(
        self,
        environ: Environ,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        *,
        preflight: bool = False,
        cors: bool = True,
    ) -> Any:
        if cors:
            headers = headers + eio_http.cors_headers(
                origin=environ.get("HTTP_ORIGIN"),
                preflight=preflight,
                request_headers=environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                credentials=self.options.cors_credentials,
                disabled=self._cors_disabled,
            )
        return await self.driver.respond(environ, status, headers, body)

    async def _refuse(
        self,
        environ: Environ,
        error: RequestError,
        *,
        cors: bool = True,
        client: _Client | None = None,
        close_reason: str = "transport error",
    ) -> Any:
        self.logger.warning(
            "Engine.IO request refused: %s (%s %s?%s from %s)",
            error.reason,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("REMOTE_ADDR", "?"),
        )
        if client is not None and error.close_session:
            await self._close_client(client, close_reason)
        headers = [("Content-Type", eio_http.ERROR_CONTENT_TYPE)]
        return await self._respond(environ, error.status, headers, error.body(), cors=cors)

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
        if not await self._connect(client):
            error = RequestError(code=ErrorCode.FORBIDDEN, reason="connection refused")
            return await self._refuse(environ, error)
        headers = [("Content-Type", eio_http.PAYLOAD_CONTENT_TYPE)]
        cookie = eio_http.sid_cookie(sid, self.options.cookie)
        if cookie is not None:
            headers.append(("Set-Cookie", cookie))
        return await self._respond(environ, 200, headers, frame.encode())

    async def _connect(self, client: _Client) -> bool:
        try:
            await self.handler.engine_connect(client.sid, client.environ)
        except Exception:
            self.logger.exception("engine_connect failed for %s", client.sid)
            client.closed = True
            self._clients.pop(client.sid, None)
            return False
        with client.mutex:
            client.connected = True
            closed_meanwhile = client.closed and not client.draining
        if closed_meanwhile:  # closed while engine_connect ran: disconnect was held back
            await self._notify_disconnect(client.sid, client.session.close_reason or "")
            return False
        return True

    # -- long polling ---------------------------------------------------------------------
    async def _poll(self, environ: Environ, client: _Client) -> Any:
        session = client.session
        with client.mutex:
            mode = session.begin_poll()
        if isinstance(mode, RequestError):
            return await self._refuse(environ, mode, client=client)
        if mode is PollMode.NOOP:
            return await self._payload(environ, [NOOP_FRAME])
        try:
            if not session.outbox and not client.closed:
                await self.backend.wait_event(client.poll_event, self._poll_timeout)
            with client.mutex:
                client.poll_event.clear()
                if session.upgrade is UpgradeState.UPGRADING and not client.closed:
                    frames: list[str | bytes] = [NOOP_FRAME]  # the outbox goes to the websocket
                else:
                    frames = session.take_outbox()
        finally:
            session.end_poll()
        if client.closed:
            if session.close_reason == "client disconnect":
                frames = frames or [NOOP_FRAME]
            else:
                frames.append(CLOSE_FRAME)
        return await self._payload(environ, frames or [NOOP_FRAME])

    async def _payload(self, environ: Environ, frames: list[str | bytes]) -> Any:
        body = encode_payload(frames).encode()
        headers = [("Content-Type", eio_http.PAYLOAD_CONTENT_TYPE)]
        if self.options.http_compression:
            body, encoding = eio_http.compress(
                body, environ.get("HTTP_ACCEPT_ENCODING"), self.options.compression_threshold
            )
            if encoding is not None:
                headers.append(("Content-Encoding", encoding))
        return await self._respond(environ, 200, headers, body)

    async def _post(self, environ: Environ, client: _Client) -> Any:
        session = client.session
        limit = self.options.max_http_buffer_size
        body: bytes | None = None
        error = check_content_length(environ.get("CONTENT_LENGTH"), limit)
        if error is None:
            with client.mutex:
                error = session.begin_post()
            if error is None:
                try:
                    body = await self.driver.read_body(environ, limit)
                finally:
                    session.end_post()
                if body is None:
                    error = body_too_large(limit)
        if error is not None or body is None:
            return await self._refuse(environ, error or body_too_large(limit), client=client)
        try:
            packets = decode_payload(
                body.decode("utf-8"), max_packets=self.options.max_payload_packets
            )
        except (UnicodeDecodeError, RemoteProtocolError) as exc:
            error = RequestError(
                code=ErrorCode.BAD_REQUEST, reason=f"bad payload: {exc}", close_session=True
            )
            return await self._refuse(environ, error, client=client, close_reason="parse error")
        reason = None
        messages: list[str | bytes] = []
        for packet in packets:
            kind = packet.type
            if kind is PacketType.MESSAGE:
                messages.append(packet.data)
            elif kind is PacketType.PONG:
                session.on_pong(self.backend.monotonic())
            elif kind is PacketType.CLOSE:
                reason = "client disconnect"
                break
            elif kind is PacketType.PING:
                await self._deliver(client, ["3" + str(packet.data)])
            elif kind is PacketType.OPEN:
                reason = "parse error"
                break
        if messages:
            await self._receive(client, messages)
        if reason is not None:
            await self._close_client(client, reason)
            if reason == "parse error":
                error = RequestError(code=ErrorCode.BAD_REQUEST, reason="OPEN packet from client")
                return await self._refuse(environ, error)
        return await self._respond(environ, 200, [("Content-Type", eio_http.POST_CONTENT_TYPE)],
                                   b"ok")

    # -- websocket ------------------------------------------------------------------------
    async def _websocket_session(self, client: _Client, ws: AsyncWebSocket, frame: str) -> None:
        """A session opened directly on a websocket."""
        client.ws = ws
        self._clients[client.sid] = client
        try:
            await ws.send(frame)
        except Exception:
            self._clients.pop(client.sid, None)
            return
        if await self._connect(client):
            await self._read_websocket(client, ws)

    async def _upgrade(self, environ: Environ, client: _Client) -> Any:
        if not self.options.allow_upgrades or not self.driver.supports_websocket:
            error = RequestError(code=ErrorCode.BAD_REQUEST, reason="upgrades are disabled")
            return await self._refuse(environ, error)
        with client.mutex:
            refused = client.session.start_upgrade(self.backend.monotonic())
        if refused is not None:
            return await self._refuse(environ, refused)
        try:
            return await self.driver.websocket(environ, lambda ws: self._probe(client, ws))
        finally:
            with client.mutex:
                if client.session.upgrade is not UpgradeState.UPGRADED:
                    client.session.abort_upgrade()

    async def _probe(self, client: _Client, ws: AsyncWebSocket) -> None:
        """Run the upgrade handshake (2probe / 3probe / 5), then read the websocket."""
        session = client.session
        client.probe = ws
        upgraded = False
        try:
            if await ws.receive() != "2probe" or client.closed:
                return
            with client.mutex:
                session.on_probe()
            await ws.send(PONG_PROBE_FRAME)
            client.poll_event.set()  # a waiting GET answers noop, the client sends "5"
            if await ws.receive() != "5" or client.closed:
                return
            with client.mutex:
                session.on_upgrade()
                frames = session.take_outbox()
                client.ws = ws
                client.writing = True  # claim the writer so nothing overtakes the outbox
                upgraded = True
        except RemoteProtocolError:
            return
        finally:
            client.probe = None
            if not upgraded:
                with client.mutex:
                    session.abort_upgrade()
                self.logger.warning("Engine.IO websocket upgrade failed for %s", client.sid)
                await ws.close()
        await self._write_claimed(client, frames)
        await self._read_websocket(client, ws)

    async def _read_websocket(self, client: _Client, ws: AsyncWebSocket) -> None:
        limit = self.options.max_http_buffer_size
        reason = "transport close"
        try:
            while not client.closed:
                frame = await ws.receive()
                if frame is None:
                    break
                if len(frame) > limit:
                    self.logger.warning("Engine.IO message over max_http_buffer_size from %s",
                                        client.sid)
                    reason = "transport error"
                    break
                if frame.__class__ is str:
                    if frame[:1] != "4":
                        control = await self._control(client, frame)
                        if control is not None:
                            reason = control
                            break
                        continue
                    frame = frame[1:]
                with client.mutex:
                    client.inbox.append(frame)
                    if client.draining:
                        continue
                    client.draining = True
                client.drain_task = self.backend.start(self._drain, client)
        except Exception:
            self.logger.warning("Engine.IO websocket error for %s", client.sid, exc_info=True)
            reason = "transport error"
        await self._close_client(client, reason)

    async def _control(self, client: _Client, frame: str | bytes) -> str | None:
        """Handle a non-message frame; returns a close reason when the session must end."""
        try:
            packet = decode_frame(frame)
        except RemoteProtocolError as exc:
            self.logger.warning("Engine.IO bad packet from %s: %s", client.sid, exc.reason)
            return "parse error"
        kind = packet.type
        if kind is PacketType.PONG:
            client.session.on_pong(self.backend.monotonic())
        elif kind is PacketType.CLOSE:
            return "client disconnect"
        elif kind is PacketType.PING:
            await self._deliver(client, ["3" + str(packet.data)])
        elif kind is PacketType.OPEN:
            self.logger.warning("Engine.IO bad packet from %s: OPEN from client", client.sid)
            return "parse error"
        return None

    # -- delivery -------------------------------------------------------------------------
    async def _receive(self, client: _Client, messages: list[str | bytes]) -> None:
        with client.mutex:
            client.inbox.extend(messages)
            if client.draining:
                return
            client.draining = True
        client.drain_task = self.backend.start(self._drain, client)

    async def _drain(self, client: _Client) -> None:
        """Hand the inbox to the handler, serially, then exit (one task per burst)."""
        inbox = client.inbox
        handler = self.handler.engine_message
        sid = client.sid
        while True:
            with client.mutex:
                if not inbox:
                    client.draining = False
                    reason, client.pending_disconnect = client.pending_disconnect, None
                    break
                data = inbox.popleft()
            try:
                await handler(sid, data)
            except Exception:
                self.logger.exception("engine_message failed for %s", sid)
        if reason is not None:
            await self._notify_disconnect(sid, reason)

    async def _deliver(self, client: _Client, frames: list[str | bytes]) -> None:
        with client.mutex:
            if client.closed:
                return
            if client.ws is None:  # long polling, or an upgrade under way
                client.session.outbox.extend(frames)
                client.poll_event.set()
                return
            if client.writing:
                client.pending.extend(frames)
                return
            client.writing = True
        await self._write_claimed(client, frames)

    async def _write_claimed(self, client: _Client, frames: list[str | bytes]) -> None:
        """Write ``frames`` and whatever queues behind them; the caller set ``writing``."""
        ws = client.ws
        assert ws is not None
        try:
            while True:
                for frame in frames:
                    await ws.send(frame)
                with client.mutex:
                    if not client.pending:
                        client.writing = False
                        return
                    frames = list(client.pending)
                    client.pending.clear()
        except Exception:
            with client.mutex:
                client.writing = False
                client.pending.clear()
            await self._close_client(client, "transport error")

    # -- closing --------------------------------------------------------------------------
    async def _close_client(self, client: _Client, reason: str) -> None:
        with client.mutex:
            if client.closed:
                return
            client.closed = True
            if reason not in _PEER_REASONS:
                client.inbox.clear()
            deferred = client.draining
            if deferred:
                client.pending_disconnect = reason
            tell = reason in _TELL_PEER and client.ws is not None and not client.writing
            if tell:
                client.writing = True
            notify = not deferred and client.connected
        client.session.close(reason)
        if self._clients.get(client.sid) is client:
            del self._clients[client.sid]
        client.poll_event.set()  # a waiting GET answers "1" (or "6" when the client left)
        ws, probe = client.ws, client.probe
        if ws is not None and tell:
            try:
                await ws.send(CLOSE_FRAME)
            except Exception:
                pass
        if notify:
            await self._notify_disconnect(client.sid, reason)
        # last: some hosts (aiohttp) wait for the peer's close frame here
        if ws is not None:
            await ws.close()
        if probe is not None:
            await probe.close()

    async def _notify_disconnect(self, sid: str, reason: str) -> None:
        try:
            await self.handler.engine_disconnect(sid, reason)
        except Exception:
            self.logger.exception("engine_disconnect failed for %s", sid)

    # -- heartbeat service --------------------------------------------------------------
    def _start_service(self) -> None:
        if self._service is None and not self._stopping and self.options.monitor_clients:
            self._service = self.backend.spawn(self._run_service)

    async def _run_service(self) -> None:
        """Ping every session on time, close the silent ones, expire stalled upgrades."""
        while not self._stopping:
            now = self.backend.monotonic()
            wake = now + self._max_sleep
            for client in list(self._clients.values()):
                session = client.session
                if session.upgrade_expired(now):
                    await self._expire_upgrade(client)
                beat = session.heartbeat(now)
                if beat is Heartbeat.PING:
                    await self._deliver(client, [PING_FRAME])
                elif beat is Heartbeat.TIMEOUT:
                    await self._close_client(client, "ping timeout")
                    continue
                wake = min(wake, session.next_deadline())
            delay = max(wake - self.backend.monotonic(), self._resolution)
            await self.backend.wait_event(self._stop, delay)

    async def _expire_upgrade(self, client: _Client) -> None:
        probe = client.probe
        with client.mutex:
            client.session.abort_upgrade()
        if probe is not None:
            await probe.close()
