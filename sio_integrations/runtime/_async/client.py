"""The asyncio Socket.IO client (source of the generated synchronous ``Client``).

Decisions (packet parsing, namespace states, ack ids) come from the protocol core's
``ClientConnection`` and ``PendingAcks``; this shell moves frames between it, python-engineio's
client (through :mod:`..client_engine`) and the application's handlers.

Threads of control: the engine's reader decodes every message inline and in order; acks are
resolved there at once, everything else (events, connect/disconnect handlers) goes to an
inbox that one worker drains, so handlers run one after another in arrival order and may
themselves ``call()`` the server. A reconnection task (thread) exists only while reconnecting.
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Callable
from typing import Any

import engineio

from ...errors import (
    ConnectionError,  # noqa: A004
    DisconnectedError,
    RemoteProtocolError,
)
from ...protocol.acks import PendingAcks
from ...protocol.connection import ClientConnection
from ...protocol.events import Ack, Connect, ConnectError, Disconnect, Event
from ...protocol.packets import get_serializer
from .. import client_signals
from ..backends import AsyncBackend
from ..client_engine import AsyncEngineIOClient, engine_kwargs
from ..client_options import ClientOptions
from ..handlers import HandlerRegistry
from ..logs import make_logger
from ..reconnect import backoff_delay
from ..sockets import as_args, positional_capacity
from .client_sending import AsyncClientSending, _Waiter


class _Reasons:
    """Disconnect reasons passed to ``disconnect`` handlers."""

    CLIENT_DISCONNECT = "client disconnect"
    SERVER_DISCONNECT = "server disconnect"
    TRANSPORT_ERROR = "transport error"
    PING_TIMEOUT = "ping timeout"


def _task_done(task: Any) -> bool:
    done = getattr(task, "done", None)  # asyncio tasks, else a thread
    return bool(done()) if done is not None else not task.is_alive()


class AsyncClient(AsyncClientSending):
    """A Socket.IO client for asyncio, with python-socketio 5.x's API.

    Options (all keyword): ``reconnection`` (True), ``reconnection_attempts`` (0: no
    limit), ``reconnection_delay`` (1), ``reconnection_delay_max`` (5),
    ``randomization_factor`` (0.5, a fraction of the delay), ``logger``,
    ``engineio_logger``, ``serializer``, ``json``, ``handle_sigint``, ``request_timeout``,
    ``http_session``, ``ssl_verify`` (True, False or an ``ssl.SSLContext``),
    ``websocket_extra_options``, ``timestamp_requests``, and ours:
    ``max_buffered_emits`` (1000), ``retries`` (0) and ``ack_timeout`` (5).
    """

    reason = _Reasons
    reserved_events = ("connect", "connect_error", "disconnect")

    def __init__(self, **kwargs: Any) -> None:
        self.options = ClientOptions.from_kwargs(**kwargs)
        self.logger = make_logger("sio_integrations.client", self.options.logger)
        self.serializer = get_serializer(self.options.serializer, self.options.json)
        self.backend = AsyncBackend()
        self._registry = HandlerRegistry(asyncio_based=self.is_asyncio_based())
        self.eio: Any = None
        #: as given to connect(): values or callables (called at every attempt)
        self.connection_url: Any = None
        self.connection_headers: Any = {}
        self.connection_auth: Any = None
        self.connection_transports: list[str] | None = None
        self.connection_namespaces: list[str] = []
        self.socketio_path = "socket.io"
        #: connected namespaces and the sid the server gave each
        self.namespaces: dict[str, str] = {}
        #: namespaces the server refused during the current connection attempt
        self.failed_namespaces: dict[str, Any] = {}
        self.connected = False
        self._conn: ClientConnection | None = None
        self._acks = PendingAcks()
        self._outgoing = collections.deque()
        self._in_flight = None
        self._inbox: collections.deque[tuple[Any, ...]] = collections.deque()
        self._draining = False
        self._drain_task: Any = None
        #: short-lived tasks (threads): retry timers, transport aborts
        self._helpers: set[Any] = set()
        self._mutex = self.backend.mutex()
        self._send_lock = self.backend.mutex()
        #: between connect() and disconnect() (or giving up): reconnection is allowed
        self._running = False
        self._server_left = False
        self._stop = self.backend.event()
        self._finished = self.backend.event()
        self._finished.set()  # wait() returns at once before connect()
        self._changed = self.backend.event()
        self._reconnect_task: Any = None

    def is_asyncio_based(self) -> bool:
        return inspect.iscoroutinefunction(self.connect)

    # -- registration (same as python-socketio) -------------------------------------------

    @property
    def handlers(self) -> dict[str, dict[str, Callable[..., Any]]]:
        return self._registry.handlers

    @property
    def namespace_handlers(self) -> dict[str, Any]:
        return self._registry.namespace_handlers

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register ``handler`` for ``event`` (a decorator without ``handler``)."""
        return self._registry.on(event, handler, namespace)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator registering a handler named after the function."""
        return self._registry.event(*args, **kwargs)

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (``AsyncClientNamespace``)."""
        self._registry.register_namespace(namespace_handler)
        namespace_handler._set_client(self)

    # -- connecting ------------------------------------------------------------------------

    async def connect(self, url: Any, headers: Any = None, auth: Any = None,
                      transports: str | list[str] | None = None,
                      namespaces: str | list[str] | None = None,
                      socketio_path: str = "socket.io", wait: bool = True,
                      wait_timeout: float = 1, retry: bool = False) -> None:
        """Connect to ``url`` and join ``namespaces`` (default: every namespace with a
        handler, or ``/``). ``url``, ``headers`` and ``auth`` may be callables returning the
        value (called at every attempt, so a reconnection can use fresh credentials).
        With ``wait``, return once every namespace answered (raise ``ConnectionError`` if
        one refused or not all answered within ``wait_timeout``); with ``retry``, a failed
        first attempt is retried like a reconnection."""
        if self._running:
            raise ConnectionError("Already connected")
        self.connection_url = url
        self.connection_headers = headers if callable(headers) else dict(headers or {})
        self.connection_auth = auth
        self.connection_transports = [transports] if isinstance(transports, str) else transports
        if namespaces is None:
            found = set(self.handlers) | set(self.namespace_handlers)
            found.discard("*")
            namespaces = sorted(found) or ["/"]
        elif isinstance(namespaces, str):
            namespaces = [namespaces]
        self.connection_namespaces = list(namespaces)
        self.socketio_path = socketio_path
        self._running = True
        self._server_left = False
        self._stop = self.backend.event()
        self._finished = self.backend.event()
        if self.options.handle_sigint and not self.is_asyncio_based():
            client_signals.register(self)
        try:
            await self._open()
        except ConnectionError as exc:
            for namespace in self.connection_namespaces:
                self._enqueue(("connect_error", namespace, exc.args[-1]))
            if not (retry and self.options.reconnection) or not await self._reconnect_loop():
                self._running = False
                self._finished.set()
                raise
        if wait:
            await self._wait_for_namespaces(wait_timeout)

    async def _wait_for_namespaces(self, timeout: float) -> None:
        deadline = self.backend.monotonic() + timeout
        while True:
            self._changed.clear()
            pending = [ns for ns in self.connection_namespaces
                       if ns not in self.namespaces and ns not in self.failed_namespaces]
            if not pending:
                break
            left = deadline - self.backend.monotonic()
            if left <= 0 or not self._running:
                break
            await self.backend.wait_event(self._changed, left)
        if set(self.namespaces) != set(self.connection_namespaces):
            refusals = [f"{ns}: {data}" for ns, data in self.failed_namespaces.items()]
            await self.disconnect()
            raise ConnectionError("One or more namespaces failed to connect"
                                  + (" (" + "; ".join(refusals) + ")" if refusals else ""))

    async def _open(self) -> None:
        """One Engine.IO connection attempt; raises ``ConnectionError``."""
        eio = AsyncEngineIOClient(
            **engine_kwargs(self.options, asyncio_based=self.is_asyncio_based()))
        eio.on("connect", self._on_engine_connect)
        eio.on("message", self._on_engine_message)
        eio.on("disconnect", self._on_engine_disconnect)
        self.eio = eio
        self._conn = ClientConnection(self.serializer)
        self.failed_namespaces = {}
        url = await self._evaluate(self.connection_url)
        headers = dict(await self._evaluate(self.connection_headers) or {})
        try:
            await eio.connect(url, headers=headers,
                              transports=self.connection_transports,
                              engineio_path=self.socketio_path)
        except engineio.exceptions.ConnectionError as exc:
            await eio.close_http()
            raise ConnectionError(*exc.args) from exc
        except ValueError as exc:  # engineio: invalid transports
            await eio.close_http()
            raise ConnectionError(str(exc)) from exc

    @staticmethod
    async def _evaluate(value: Any) -> Any:
        """A connect() argument's value: callables (or coroutine functions) are called."""
        if callable(value):
            value = value()
            if inspect.isawaitable(value):
                value = await value
        return value

    async def _on_engine_connect(self) -> None:
        eio = self.eio
        eio.last_seen = self.backend.monotonic()
        eio.closed = self.backend.event()  # wakes the watchdog when this connection ends
        self._helper(self._watch_heartbeat, eio)
        auth = await self._evaluate(self.connection_auth)
        for namespace in self.connection_namespaces:
            await self._send(Connect(namespace=namespace, data=auth))

    # -- receiving -------------------------------------------------------------------------

    async def _on_engine_message(self, data: str | bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            event = conn.receive_data(data, self.backend.monotonic())
        except RemoteProtocolError as exc:
            if exc.fatal:
                self.logger.warning("closing the connection: %s", exc.reason)
                self._helper(self._abort, "parse error")
            return
        if event is None:
            return
        if isinstance(event, Ack):
            entry = self._acks.pop(event.ack_id)
            if entry is not None:
                callback, inline = entry
                if inline:  # ours: resolves a call() or advances the retry queue
                    await self._call(callback, *event.args)
                else:  # the application's: runs in order with its handlers
                    self._enqueue(("ack", callback, tuple(event.args)))
        elif isinstance(event, Event):
            self._enqueue(("event", event))
        elif isinstance(event, Connect):
            self.namespaces[event.namespace] = event.data["sid"]
            self.connected = True
            await self._flush(event.namespace)
            self._enqueue(("connect", event.namespace))
            self._changed.set()
        elif isinstance(event, ConnectError):
            self.failed_namespaces[event.namespace] = event.data
            self._enqueue(("connect_error", event.namespace, event.data))
            self._changed.set()
            if not self.namespaces and len(self.failed_namespaces) == len(
                    self.connection_namespaces):
                self._server_left = True  # refused everywhere: retrying would not help
                self._helper(self._abort, self.reason.SERVER_DISCONNECT)
        elif isinstance(event, Disconnect):
            self.namespaces.pop(event.namespace, None)
            self._enqueue(("disconnect", event.namespace, self.reason.SERVER_DISCONNECT))
            if not self.namespaces:
                self._server_left = True  # the server ended the session: no reconnection
                self._helper(self._abort, self.reason.SERVER_DISCONNECT)

    async def _watch_heartbeat(self, eio: Any) -> None:
        """Close the transport when the server has been silent for longer than its
        ``pingInterval + pingTimeout`` (the JS client's rule; reason ``ping timeout``)."""
        limit = eio.ping_interval + eio.ping_timeout
        while self.eio is eio and eio.state == "connected":
            silent = self.backend.monotonic() - eio.last_seen
            if silent > limit:
                self.logger.warning("no heartbeat from the server for %.1f s", silent)
                await eio.disconnect(abort=True, reason=self.reason.PING_TIMEOUT)
                return
            if await self.backend.wait_event(eio.closed, min(limit - silent, limit / 4) + 0.01):
                return

    def _close_watch(self) -> None:
        closed = getattr(self.eio, "closed", None)
        if closed is not None:
            closed.set()

    async def _abort(self, reason: str) -> None:
        eio = self.eio
        if eio is not None:
            await eio.disconnect(reason=reason)

    async def _on_engine_disconnect(self, reason: str) -> None:
        self._close_watch()
        eio = self.eio
        if reason == self.reason.TRANSPORT_ERROR and eio is not None and eio.ping_interval:
            # engineio's websocket reader gives up after the same silence as our watchdog
            silent = self.backend.monotonic() - eio.last_seen
            if silent >= 0.9 * (eio.ping_interval + eio.ping_timeout):
                reason = self.reason.PING_TIMEOUT
        conn = self._conn
        self._conn = None
        left = conn.close() if conn is not None else []
        self.namespaces = {}
        self.connected = False
        for namespace in left:
            self._enqueue(("disconnect", namespace, reason))
        with self._mutex:
            if self._in_flight is not None:
                self._in_flight.generation += 1  # its timer is void; resent after reconnecting
                self._in_flight = None
        for callback, _inline in self._acks.clear():
            waiter = getattr(callback, "__self__", None)
            if isinstance(waiter, _Waiter):
                waiter.fail(DisconnectedError("disconnected before the acknowledgement"))
        self._changed.set()
        if self._running and self.options.reconnection and not self._server_left:
            if self._reconnect_task is None:
                self._reconnect_task = self.backend.spawn(self._reconnect_loop)
        elif self._running:
            self._running = False
            self._finished.set()
            self._fail_outgoing(DisconnectedError("disconnected, not reconnecting"))

    async def _reconnect_loop(self) -> bool:
        """Reconnect with backoff until it works, the budget ends or ``disconnect()``."""
        options = self.options
        attempt = 0
        try:
            while self._running:
                if options.reconnection_attempts and attempt >= options.reconnection_attempts:
                    self.logger.warning("giving up after %d reconnection attempts", attempt)
                    break
                delay = backoff_delay(attempt, delay=options.reconnection_delay,
                                      delay_max=options.reconnection_delay_max,
                                      randomization_factor=options.randomization_factor)
                attempt += 1
                if await self.backend.wait_event(self._stop, delay):
                    return False
                self.logger.info("reconnection attempt %d", attempt)
                try:
                    await self._open()
                except ConnectionError as exc:
                    self.logger.info("reconnection attempt %d failed: %s", attempt, exc)
                    continue
                return True
        finally:
            self._reconnect_task = None
        self._running = False
        self._finished.set()
        self._changed.set()
        self._fail_outgoing(ConnectionError("gave up reconnecting"))
        return False

    # -- handlers --------------------------------------------------------------------------

    def _enqueue(self, item: tuple[Any, ...]) -> None:
        with self._mutex:
            self._inbox.append(item)
            if self._draining:
                return
            self._draining = True
        self._drain_task = self.backend.spawn(self._drain)

    async def _drain(self) -> None:
        while True:
            with self._mutex:
                if not self._inbox:
                    self._draining = False
                    return
                item = self._inbox.popleft()
            try:
                await self._dispatch(item)
            except Exception:
                self.logger.exception("error in a %s handler", item[0])

    async def _dispatch(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "event":
            event = item[1]
            result = await self._trigger(event.name, event.namespace, *event.args)
            if event.ack_id is not None and self._conn is not None:
                await self._send(Ack(namespace=event.namespace, ack_id=event.ack_id,
                                     args=as_args(result)))
        elif kind == "ack":
            await self._call(item[1], *item[2])
        elif kind == "connect":
            await self._trigger("connect", item[1])
        elif kind == "connect_error":
            await self._trigger("connect_error", item[1], item[2])
        elif kind == "disconnect":
            await self._trigger("disconnect", item[1], item[2])

    async def _trigger(self, event: str, namespace: str, *args: Any) -> Any:
        handler, call_args = self._registry.find(event, namespace, args)
        if handler is not None:
            if event == "disconnect" and positional_capacity(handler) < len(call_args):
                call_args = call_args[:-1]  # legacy handler without the reason
            return await self._call(handler, *call_args)
        space, call_args = self._registry.find_namespace(namespace, args)
        if space is not None:
            return await space.trigger_event(event, *call_args)
        return None

    def _helper(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start a short-lived task (thread) that disconnect() will wait for; none once
        disconnect() has begun (it does their work itself, and two engine disconnects at
        once can hang engineio's client)."""
        with self._mutex:
            if not self._running:
                return
            self._helpers = {task for task in self._helpers if not _task_done(task)}
            self._helpers.add(self.backend.spawn(fn, *args))

    # -- the rest of python-socketio's API ---------------------------------------------------

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The sid the server gave this client in ``namespace`` (None if not connected)."""
        return self.namespaces.get(namespace or "/")

    @property
    def sid(self) -> str | None:
        """The sid in the default namespace (see :meth:`get_sid`)."""
        return self.get_sid("/")

    def transport(self) -> str | None:
        """``'polling'`` or ``'websocket'`` (None when not connected)."""
        return self.eio.transport() if self.eio is not None else None

    async def wait(self) -> None:
        """Wait until the client is disconnected for good (by ``disconnect()``, by the
        server, or after giving up reconnecting). Interrupted (Ctrl-C, task cancelled),
        it disconnects before re-raising."""
        try:
            await self._finished.wait()
            # the transport may still be closing (a server-side disconnect), and a
            # disconnect() called from a handler returns before the handlers queued after
            # it ran (it runs in the worker it would wait for): let them all finish
            with self._mutex:
                tasks = [*self._helpers, self._drain_task]
            for task in tasks:
                if task is not None:
                    await self.backend.join(task)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Leave every namespace, close the connection and stop reconnecting. Returns once
        the client's own tasks (threads) have ended and the handlers have run."""
        with self._mutex:
            self._running = False
            helpers, self._helpers = self._helpers, set()
        self._stop.set()
        self._close_watch()
        # joining the current task (thread) is a no-op: disconnect() from a handler works
        for task in [self._reconnect_task, *helpers]:
            if task is not None:
                await self.backend.join(task)
        for namespace in list(self.namespaces):
            await self._send(Disconnect(namespace=namespace))
            self.namespaces.pop(namespace, None)
            self._enqueue(("disconnect", namespace, self.reason.CLIENT_DISCONNECT))
        eio = self.eio
        if eio is not None:
            await eio.disconnect()
        if self._drain_task is not None:
            await self.backend.join(self._drain_task)
        self._fail_outgoing(DisconnectedError("the client disconnected"))
        self.connected = False
        self._finished.set()
        self._changed.set()
        client_signals.unregister(self)

    async def shutdown(self) -> None:
        """Alias of :meth:`disconnect` (python-socketio 5.12+)."""
        await self.disconnect()

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        """Run ``target(*args, **kwargs)`` in a task (a thread in the sync client)."""
        return self.backend.spawn(target, *args, **kwargs)

    async def sleep(self, seconds: float = 0) -> None:
        """Sleep without blocking the client."""
        await self.backend.sleep(seconds)
