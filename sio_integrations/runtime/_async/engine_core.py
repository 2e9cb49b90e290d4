"""The Engine.IO server core: per-client state, delivery, closing and the heartbeat service.

Asyncio source of the generated synchronous twin. Hot path on websocket: a frame is read
(:mod:`.engine_transports`), appended to the client's inbox, and a drain task (started only
when none runs) hands it to ``engine_message``; ``send`` writes straight to the websocket
unless a write is already in flight, in which case the frame joins a small pending deque
that the writer in flight flushes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from ...options import TRANSPORTS, EngineOptions
from ...protocol.engine import http as eio_http
from ...protocol.engine.packets import CLOSE_FRAME, PING_FRAME
from ...protocol.engine.requests import RequestError
from ...protocol.engine.session import Heartbeat, Session
from ..drivers import AsyncDriver, AsyncWebSocket, Environ
from ..logs import limit_warnings

# Reasons that come from the peer: messages it sent before leaving are still delivered.
_PEER_REASONS = frozenset(
    {"client disconnect", "transport close", "transport error", "parse error"}
)
#: messages queued for one client's handler before its transport stops being read
INBOX_LIMIT = 256
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
        "drain_task", "b64", "room", "busy", "queued", "direct", "overflowed", "poll_watch",
        "poll_environ", "poll_rival",
    )

    def __init__(self, session: Session, environ: Environ, mutex: Any, event: Any) -> None:
        self.sid = session.sid
        self.session = session
        self.environ = environ
        self.mutex = mutex
        self.poll_event = event  # wakes a waiting long-polling GET
        self.ws: AsyncWebSocket | None = None  # set once the websocket is the transport
        self.probe: AsyncWebSocket | None = None  # a websocket being upgraded to
        # lists, not deques: an empty list is 56 bytes, an empty deque over 600 (per client)
        self.inbox: list[str | bytes] = []
        self.draining = False
        self.writing = False
        self.pending: list[str | bytes] = []
        self.closed = False
        self.connected = False
        self.pending_disconnect: str | None = None
        self.drain_task: Any = None  # keeps the running drain task referenced
        self.b64 = False  # the client asked for binary as base64 text (b64=1)
        self.room: Any = None  # set by the drain when a reader waits for inbox room
        self.busy = False  # the reader is inside an inline handler (which may apply backpressure)
        self.queued = 0  # bytes in ``pending`` or the session's outbox (max_send_buffer_size)
        # a synchronous writer on a websocket we own: ``direct(frame)`` writes at once and
        # is False when the peer is over max_send_buffer_size behind
        self.direct: Callable[[str | bytes], bool] | None = None
        self.overflowed = False  # the slow-consumer policy fired (once, whoever saw it)
        # the environ of the waiting long-polling GET (on hosts that can tell when its
        # client leaves) and, once started, the watch on it
        self.poll_environ: Environ | None = None
        self.poll_watch: Any = None
        # set when that GET's client leaves or it ends, for a newer GET that found it
        self.poll_rival: Any = None

    def poll_gone(self) -> None:
        """The waiting long-polling GET's client left: end that GET now."""
        self.poll_event.set()
        rival = self.poll_rival
        if rival is not None:
            rival.set()


class AsyncEngineCore:
    """State and plumbing shared by the request handlers of :class:`AsyncEngine`."""

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
        if not options.direct_websockets:
            self.driver.direct_websockets = False
        self.async_mode = self.driver.mode
        self.backend = self.driver.backend
        self.logger = logger or limit_warnings(logging.getLogger("sio_integrations.engine"))
        self._clients: dict[str, _Client] = {}
        self._transports = tuple(t for t in TRANSPORTS if t in options.transports)
        self._cors_disabled = options.cors_allowed_origins == []
        policy = options.cors_allowed_origins
        # any origin allowed: never also allow credentials, or every site on the web could
        # call the server as the logged-in user (the browser sends the cookies)
        any_origin = policy == "*" or (isinstance(policy, (list, tuple, set)) and "*" in policy)
        self._cors_credentials = options.cors_credentials and not any_origin
        self._poll_timeout = options.ping_interval + options.ping_timeout
        self._send_limit = options.max_send_buffer_size
        shortest = min(options.ping_interval, options.ping_timeout, options.upgrade_timeout)
        self._resolution = min(max(shortest / 10, 0.005), 0.5)
        # the service never sleeps past the first ping of a session created meanwhile
        self._max_sleep = min(1.0, options.ping_interval, options.upgrade_timeout)
        self._service: Any = None
        # a handler that queues messages itself (the Socket.IO server) is called straight
        # from the transport reader, saving the drain task
        self._inline = bool(getattr(handler, "engine_inline_messages", False))
        #: the handler's coroutine-free path for its common message (None: always await)
        self._message_now: Callable[[str, str | bytes], bool] | None = getattr(
            handler, "engine_message_now", None) if self._inline else None
        self._stop = self.backend.event()
        self._stopping = False
        self._last_frame: tuple[Any, str | bytes] = (None, "")  # see AsyncEngine.send
        # drivers that translate and answer a request without a coroutine (ASGI): one
        # coroutine less per request and per response on the long-polling path
        self._translate_now: Callable[..., Environ] | None = getattr(
            self.driver, "translate_now", None)
        self._respond_at_once: Callable[..., bool] | None = getattr(
            self.driver, "respond_at_once", None)
        # tells a waiting long-polling GET that its client left (ASGI), else None
        self._watch_disconnect: Callable[..., Any] | None = getattr(
            self.driver, "watch_disconnect", None)

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
        if cors and not self._cors_disabled:
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None or preflight:  # (otherwise there is nothing to add)
                headers = headers + eio_http.cors_headers(
                    origin=origin,
                    preflight=preflight,
                    request_headers=environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                    credentials=self._cors_credentials,
                )
        at_once = self._respond_at_once
        if at_once is not None and at_once(environ, status, headers, body):
            return None
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

    async def _connect(self, client: _Client) -> str | None:
        """Tell the handler about a new session; the reason it was refused, or None."""
        refusal = None
        try:
            await self.handler.engine_connect(client.sid, client.environ)
        except ConnectionRefusedError as exc:  # a policy decision (rate limit): no traceback
            refusal = f"connection refused: {exc}"
        except Exception:
            self.logger.exception("engine_connect failed for %s", client.sid)
            refusal = "connection refused"
        if refusal is not None:
            client.closed = True
            self._clients.pop(client.sid, None)
            return refusal
        with client.mutex:
            client.connected = True
            closed_meanwhile = client.closed and not client.draining
        if closed_meanwhile:  # closed while engine_connect ran: disconnect was held back
            await self._notify_disconnect(client.sid, client.session.close_reason or "")
            return "closed while connecting"
        return None

    # -- delivery -------------------------------------------------------------------------
    async def _receive(self, client: _Client, messages: list[str | bytes]) -> None:
        if self._inline:
            client.busy = True
            try:
                now = self._message_now
                for data in messages:
                    if client.closed:
                        return
                    try:
                        if now is None or not now(client.sid, data):
                            await self.handler.engine_message(client.sid, data)
                    except Exception:
                        self.logger.exception("engine_message failed for %s", client.sid)
            finally:
                client.busy = False
            return
        with client.mutex:
            client.inbox.extend(messages)
            if client.draining:
                full = len(client.inbox) >= INBOX_LIMIT
            else:
                client.draining = True
                full = False
        if full:
            await self._wait_for_room(client)
        else:
            client.drain_task = self.backend.start(self._drain, client)

    async def _wait_for_room(self, client: _Client) -> None:
        """Backpressure: stop reading from a client whose handler is this far behind."""
        with client.mutex:
            if client.room is None:
                client.room = self.backend.event()
            room = client.room
        while not client.closed and not await self.backend.wait_event(room, 1.0):
            pass

    async def _drain(self, client: _Client) -> None:
        """Hand the inbox to the handler, serially, then exit (one task per burst)."""
        inbox = client.inbox
        handler = self.handler.engine_message
        sid = client.sid
        while True:
            with client.mutex:
                if client.room is not None and len(inbox) <= INBOX_LIMIT // 2:
                    client.room.set()
                    client.room = None
                if not inbox:
                    client.draining = False
                    reason, client.pending_disconnect = client.pending_disconnect, None
                    break
                data = inbox.pop(0)
            try:
                await handler(sid, data)
            except Exception:
                self.logger.exception("engine_message failed for %s", sid)
        if reason is not None:
            await self._notify_disconnect(sid, reason)

    async def _deliver(self, client: _Client, frames: list[str | bytes]) -> None:
        direct = client.direct
        if direct is not None and not client.writing:
            if client.closed:
                return
            if len(frames) > 1:  # a packet and its attachments: nothing may come between
                write_many = getattr(client.ws, "write_many", None)
                if write_many is not None:
                    if not write_many(frames):
                        await self._overflow(client)
                    return
            for frame in frames:
                if not direct(frame):
                    await self._overflow(client)
                    return
            return
        with client.mutex:
            if client.closed or client.queued > self._send_limit:
                return
            if client.ws is None or client.writing:
                if client.ws is None:  # long polling, or an upgrade under way
                    client.session.outbox.extend(frames)
                    client.poll_event.set()
                else:
                    client.pending.extend(frames)
                for frame in frames:
                    client.queued += len(frame)
                if client.queued <= self._send_limit:
                    return
                overflow = True
            else:
                client.writing = True
                overflow = False
        if overflow:
            await self._overflow(client)
        else:
            await self._write_claimed(client, frames)

    async def _overflow(self, client: _Client) -> None:
        """Slow-consumer policy: a client whose queue passed the limit is disconnected."""
        with client.mutex:  # several emitters (threads) may see it at once: one acts
            if client.closed or client.overflowed:
                return
            client.overflowed = True
        abort = getattr(client.ws, "abort", None)
        if abort is not None:  # a socket we own: drop the unsent data with the connection
            abort()
        self.logger.warning(
            "Engine.IO client %s is not reading: over max_send_buffer_size (%d bytes) "
            "queued, closing", client.sid, self._send_limit)
        await self._close_client(client, "transport error")

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
                    client.queued = 0
        except Exception:
            await self._write_failed(client)

    async def _write_failed(self, client: _Client) -> None:
        with client.mutex:
            client.writing = False
            client.pending.clear()
            client.queued = 0
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
            if client.room is not None:  # a reader waiting for inbox room stops waiting
                client.room.set()
                client.room = None
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

    def _watch_poll(self, client: _Client) -> None:
        """Start watching the client of the session's waiting long-polling GET, if any
        (hosts that can tell; called with the client's mutex held or from the loop)."""
        environ = client.poll_environ
        if environ is not None and client.poll_watch is None and (
                self._watch_disconnect is not None):
            client.poll_watch = self._watch_disconnect(environ, client.poll_gone)

    # -- heartbeat service --------------------------------------------------------------
    def _start_service(self) -> None:
        if self._service is None and not self._stopping and self.options.monitor_clients:
            self._service = self.backend.spawn(self._run_service)

    async def _run_service(self) -> None:
        """Ping every session on time, close the silent ones, expire stalled upgrades."""
        while not self._stopping:
            wake = await self._beat_all(self.backend.monotonic())
            delay = max(wake - self.backend.monotonic(), self._resolution)
            await self.backend.wait_event(self._stop, delay)

    async def _beat_all(self, now: float) -> float:
        """One heartbeat round; returns when the next is due. (A method of its own, so no
        client stays referenced from the service's frame while it sleeps.)"""
        wake = now + self._max_sleep
        for client in list(self._clients.values()):
            session = client.session
            if client.poll_environ is not None and client.poll_watch is None:
                self._watch_poll(client)  # a GET waiting this long: watch its client
            if session.upgrade_expired(now):
                await self._expire_upgrade(client)
            beat = session.heartbeat(now)
            if beat is Heartbeat.PING:
                await self._deliver(client, [PING_FRAME])
            elif beat is Heartbeat.TIMEOUT:
                if client.busy or client.room is not None or getattr(
                        client.ws, "blocked", False):
                    # we stopped reading (backpressure, or a handler still running): a
                    # pong may be waiting unread, which is not the peer's fault
                    session.on_pong(now)
                else:
                    await self._close_client(client, "ping timeout")
                    continue
            wake = min(wake, session.next_deadline())
        return wake

    async def _expire_upgrade(self, client: _Client) -> None:
        probe = client.probe
        with client.mutex:
            client.session.abort_upgrade()
        if probe is not None:
            await probe.close()
