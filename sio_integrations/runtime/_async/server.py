"""The asyncio Socket.IO server (source of the generated synchronous ``Server``)."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from ...errors import (
    AckTimeoutError,
    ConfigurationError,
    ConnectionRefusedError,  # noqa: A004
    DisconnectedError,
    RemoteProtocolError,
)
from ...options import ServerOptions
from ...protocol.connection import ServerConnection
from ...protocol.events import Ack, Connect, ConnectError, Disconnect, Event
from ...protocol.packets import get_serializer
from ..context import set_ack_id
from ..handlers import HandlerRegistry
from ..logs import make_logger
from ..sockets import (
    INBOX_LIMIT,
    AckWaiter,
    Client,
    ClientClosed,
    Socket,
    as_args,
    call_result,
    positional_capacity,
)
from .engine import AsyncEngine
from .manager import AsyncManager


class AsyncServer:
    """A Socket.IO server for asyncio hosts (ASGI, aiohttp, Sanic, Tornado).

    Accepts python-socketio 5.x's constructor options; unknown options raise ``TypeError``.
    Events from one client are handled in the order they arrived; different clients are
    handled concurrently.
    """

    class reason:
        """Disconnect reasons passed to ``disconnect`` handlers."""

        CLIENT_DISCONNECT = "client disconnect"
        SERVER_DISCONNECT = "server disconnect"
        PING_TIMEOUT = "ping timeout"
        TRANSPORT_CLOSE = "transport close"
        TRANSPORT_ERROR = "transport error"

    def __init__(self, client_manager: AsyncManager | None = None, logger: Any = False,
                 serializer: Any = "default", json: Any = None, async_handlers: bool = True,
                 always_connect: bool = False, namespaces: Any = None, **kwargs: Any) -> None:
        self.options = ServerOptions.from_kwargs(
            client_manager=client_manager, logger=logger, serializer=serializer, json=json,
            async_handlers=async_handlers, always_connect=always_connect,
            namespaces=namespaces, **kwargs)
        self.logger = make_logger("sio_integrations.server", logger)
        self.serializer = get_serializer(
            serializer, json=json, max_attachments=self.options.max_attachments)
        self._registry = HandlerRegistry(asyncio_based=self.is_asyncio_based())
        self.handlers = self._registry.handlers
        self.namespace_handlers = self._registry.namespace_handlers
        self.namespaces = self.options.namespaces
        self.always_connect = always_connect
        self.async_handlers = async_handlers
        if client_manager is not None and self.options.message_queue is not None:
            raise ConfigurationError("pass either client_manager or message_queue, not both")
        self.manager = client_manager if client_manager is not None else _manager_for(
            self.options, logger)
        self.manager.set_server(self)
        self._manager_ready = False
        self._clients: dict[str, Client] = {}
        self._sweeper: Any = None
        self._sweeping = False
        engine_logger = make_logger("sio_integrations.engine", self.options.engineio_logger)
        self.eio = AsyncEngine(self.options.engine_options(), self,
                               async_mode=self.options.async_mode, logger=engine_logger)
        self.async_mode = self.eio.async_mode

    def is_asyncio_based(self) -> bool:
        """True for the asyncio server, False for the generated synchronous one."""
        return inspect.iscoroutinefunction(self.handle_request)

    # -- registration ---------------------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register an event handler (``@sio.on('event', namespace='/chat')``)."""
        return self._registry.on(event, handler, namespace)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register a handler named after the decorated function (``@sio.event``)."""
        return self._registry.event(*args, **kwargs)

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace."""
        self._registry.register_namespace(namespace_handler)
        namespace_handler._set_server(self)

    def attach(self, app: Any, socketio_path: str = "socket.io") -> None:
        """Attach to an aiohttp (or Sanic) application."""
        self.eio.attach(app, socketio_path)

    # -- emitting -------------------------------------------------------------------------

    async def emit(self, event: str, data: Any = None, to: Any = None, room: Any = None,
                   skip_sid: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None, ignore_queue: bool = False,
                   **kwargs: Any) -> None:
        """Emit ``event`` to a sid, a room, a list of rooms, or everyone (``to=None``)."""
        await self._ensure_manager()
        await self.manager.emit(event, data, namespace or "/", room=to if to is not None
                                else room, skip_sid=skip_sid, callback=callback,
                                ignore_queue=ignore_queue, **kwargs)

    async def send(self, data: Any, to: Any = None, room: Any = None, skip_sid: Any = None,
                   namespace: str | None = None, callback: Callable[..., Any] | None = None,
                   ignore_queue: bool = False, **kwargs: Any) -> None:
        """Emit a ``message`` event."""
        await self.emit("message", data, to=to, room=room, skip_sid=skip_sid,
                        namespace=namespace, callback=callback, ignore_queue=ignore_queue,
                        **kwargs)

    async def call(self, event: str, data: Any = None, to: str | None = None,
                   sid: str | None = None, namespace: str | None = None,
                   timeout: float = 60, ignore_queue: bool = False, **kwargs: Any) -> Any:
        """Emit to one client and wait for its acknowledgement.

        Returns the acknowledgement's argument (a tuple when there are several); raises
        ``TimeoutError`` (``sio_integrations.exceptions.TimeoutError``) after ``timeout``.
        """
        target = to or sid
        if target is None:
            raise ValueError("call() needs the sid of one client (to=...)")
        namespace = namespace or "/"
        socket = self.manager.get_socket(target, namespace)
        if socket is None and not ignore_queue:
            # a message-queue manager finds it on another node (or times out)
            return await self.manager.remote_call(event, data, target, namespace, timeout)
        if socket is None or not socket.connected:
            raise DisconnectedError(f"{target} is not connected to {namespace}")
        waiter = AckWaiter(self.eio.backend.event())
        ack_id = socket.acks.register(waiter)
        await self._send_frames(socket.eio_sid, self.serializer.encode_event(
            namespace, event, as_args(data), ack_id))
        if not await self.eio.backend.wait_event(waiter.event, timeout):
            socket.acks.pop(ack_id)
            raise AckTimeoutError(f"no acknowledgement for {event!r} within {timeout} s")
        if not waiter.answered:  # woken by the manager: the client left meanwhile
            raise DisconnectedError(f"{target} disconnected before acknowledging {event!r}")
        return call_result(waiter.args)

    # -- rooms and sessions -----------------------------------------------------------------

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Add a client to a room."""
        await self.manager.enter_room(sid, namespace or "/", room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        """Remove a client from a room."""
        await self.manager.leave_room(sid, namespace or "/", room)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from a room."""
        await self.manager.close_room(room, namespace or "/")

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        """The rooms a client is in (its own sid room included)."""
        return self.manager.get_rooms(sid, namespace or "/")

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The user session dict of a client."""
        return self._socket(sid, namespace).session

    async def save_session(self, sid: str, session: dict[str, Any],
                           namespace: str | None = None) -> None:
        """Replace the user session dict of a client."""
        self._socket(sid, namespace).session = session

    def session(self, sid: str, namespace: str | None = None) -> _SessionContext:
        """Context manager giving the session dict and saving it on exit."""
        return _SessionContext(self, sid, namespace)

    def transport(self, sid: str, namespace: str | None = None) -> str:
        """``'polling'`` or ``'websocket'``."""
        return self.eio.transport(self._socket(sid, namespace).eio_sid)

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The WSGI-style environ of the request that opened the connection."""
        socket = self.manager.get_socket(sid, namespace or "/")
        return socket.client.environ if socket else None

    # -- lifecycle ------------------------------------------------------------------------

    async def disconnect(self, sid: str, namespace: str | None = None,
                         ignore_queue: bool = False) -> None:
        """Disconnect a client from a namespace (the client sees 'io server disconnect')."""
        namespace = namespace or "/"
        if ignore_queue:
            await self._disconnect_socket(sid, namespace)
        else:
            await self.manager.disconnect(sid, namespace)

    async def startup(self) -> None:
        """Start background services now instead of at the first connection.

        Host plugins call this from their startup hook; it also revives a server after
        :meth:`shutdown` (a host that runs its lifespan twice in one process).
        """
        await self._ensure_manager()
        await self.eio.start()

    async def shutdown(self, grace: float = 0.0) -> None:
        """Disconnect every client ("server shutting down") and stop background tasks.

        ``grace``: refuse new connections at once, then give clients up to that many
        seconds to receive the messages already emitted to them.
        """
        self._sweeping = False
        await self.eio.shutdown(grace)
        if self._manager_ready:
            self._manager_ready = False  # startup() initializes it again
            await self.manager.shutdown()

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """Entry point for the host's requests (ASGI scope/receive/send, aiohttp request...)."""
        return await self.eio.handle_request(*args, **kwargs)

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        """Run ``target`` in the background (a task, or a thread in sync modes)."""
        return self.eio.start_background_task(target, *args, **kwargs)

    async def sleep(self, seconds: float = 0) -> None:
        """Sleep without blocking other clients."""
        await self.eio.sleep(seconds)

    # -- engine callbacks (the AsyncEngineHandler protocol) ---------------------------------

    async def engine_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        limiter = self.options.rate_limiter
        if limiter is not None and not limiter.connection_opened(environ):
            raise ConnectionRefusedError("too many connections from this client")
        await self._ensure_manager()
        conn = ServerConnection(self.serializer)
        self._clients[eio_sid] = Client(eio_sid, conn, environ, time.monotonic(),
                                       self.eio.backend.mutex())
        if not self._sweeping:
            self._sweeping = True  # set first: a sweeper thread may start running at once
            self._sweeper = self.start_background_task(self._sweep)

    #: the engine may call ``engine_message`` straight from the transport reader: this
    #: server queues events itself and only makes the reader wait for backpressure
    engine_inline_messages = True

    def engine_message_now(self, eio_sid: str, data: str | bytes) -> bool:
        """:meth:`engine_message` for the common cases, without a coroutine: a plain EVENT
        on "/" or a BINARY_EVENT (header and attachments) is queued (its handler
        started). False: nothing was done, the caller awaits :meth:`engine_message`."""
        client = self._clients.get(eio_sid)
        if client is None:
            return True
        if client.draining and len(client.inbox) >= INBOX_LIMIT - 1:
            return False  # about full: engine_message waits for room (one reader per client)
        conn = client.conn
        event: Any = conn.receive_plain_event(data)
        if event is None:
            # a BINARY_EVENT needs no coroutine either: its header, then its attachments
            if not (data[:1] == "5" if data.__class__ is str else client.binary_pending):
                return False
            try:
                event = conn.receive_data(data, time.monotonic())
            except RemoteProtocolError as exc:
                client.binary_pending = False
                self.eio.backend.run_soon(self._bad_input, client, exc)
                return True
            client.binary_pending = event is None
            if event is None:
                return True
        self._enqueue(client, event)
        return True

    async def engine_message(self, eio_sid: str, data: str | bytes) -> None:
        client = self._clients.get(eio_sid)
        if client is None:
            return
        # the engine tried engine_message_now first: what comes here takes the full path
        client.binary_pending = False  # (and ends what engine_message_now took over)
        try:
            event = client.conn.receive_data(data, time.monotonic())
        except RemoteProtocolError as exc:
            await self._bad_input(client, exc)
            return
        if event is None:
            return
        if type(event) is Ack:
            # acknowledgements skip the queue: a handler may be waiting for one (call())
            socket = client.sockets.get(event.namespace)
            if socket is not None:
                await self.manager.trigger_callback(socket, event.ack_id, list(event.args))
            return
        room = self._enqueue(client, event)
        # backpressure: stop reading this client until its handlers catch up
        while room is not None and eio_sid in self._clients and not (
                await self.eio.backend.wait_event(room, 1.0)):
            pass

    def _enqueue(self, client: Client, event: Any) -> Any:
        """Queue ``event`` behind the client's earlier ones, or start a drain with it.

        One client's events are handled one at a time, in arrival order, by a drain
        worker that exists only while the client has work queued. Returns the event to
        wait on when the inbox is full, else None.
        """
        room = None
        with client.lock:
            start = not client.draining
            if start:
                client.draining = True
            else:
                client.inbox.append(event)
                if len(client.inbox) >= INBOX_LIMIT:
                    if client.room is None:
                        client.room = self.eio.backend.event()
                    room = client.room
        if start:
            self.eio.backend.run_soon(self._drain, client, event)
        return room

    async def _drain(self, client: Client, item: Any) -> None:
        """Handle ``item``, then the client's inbox, in order (the caller set draining)."""
        inbox = client.inbox
        while True:
            try:
                kind = type(item)
                if kind is tuple:  # a plain EVENT on "/" (see engine_message_now)
                    await self._on_event(client, "/", *item)
                elif kind is Event:
                    await self._on_event(client, item.namespace, item.name, item.args,
                                         item.ack_id)
                elif kind is Connect:
                    await self._on_connect(client, item)
                elif kind is Disconnect:
                    socket = client.sockets.get(item.namespace)
                    if socket is not None:
                        await self._close_socket(socket, self.reason.CLIENT_DISCONNECT)
                elif kind is ClientClosed:
                    await self._finish_client(client, item.reason)
            except Exception:  # never let one bad handler stall this client's queue
                self.logger.exception("error while handling %r", item)
            with client.lock:
                if client.room is not None and len(inbox) <= INBOX_LIMIT // 2:
                    client.room.set()
                    client.room = None
                if not inbox:
                    client.draining = False
                    return
                item = inbox.pop(0)

    async def engine_disconnect(self, eio_sid: str, reason: str) -> None:
        client = self._clients.pop(eio_sid, None)
        if client is None:
            return
        if self.options.rate_limiter is not None:
            self.options.rate_limiter.connection_closed(client.environ)
        with client.lock:
            if client.room is not None:
                client.room.set()
                client.room = None
            if client.draining:
                # after the events already received (a client's DISCONNECT among them)
                client.inbox.append(ClientClosed(reason))
                return
        await self._finish_client(client, reason)

    async def _finish_client(self, client: Client, reason: str) -> None:
        client.conn.close()
        for socket in list(client.sockets.values()):
            await self._close_socket(socket, reason, notify_client=False)

    # -- internals ------------------------------------------------------------------------

    async def _ensure_manager(self) -> None:
        if not self._manager_ready:
            self._manager_ready = True
            await self.manager.initialize()

    def _socket(self, sid: str, namespace: str | None) -> Socket:
        socket = self.manager.get_socket(sid, namespace or "/")
        if socket is None:
            raise KeyError(f"session {sid} not found in namespace {namespace or '/'}")
        return socket

    async def _send_frames(self, eio_sid: str, frames: list[str | bytes]) -> None:
        if len(frames) == 1:
            await self.eio.send(eio_sid, frames[0])
        else:
            await self.eio.send_many(eio_sid, frames)

    async def _bad_input(self, client: Client, exc: RemoteProtocolError) -> None:
        client.bad_packets += 1
        if client.bad_packets == 1 or exc.fatal:
            self.logger.warning("client %s sent bad input: %s%s", client.eio_sid, exc.reason,
                                " (closing)" if exc.fatal else "")
        if exc.fatal:
            await self.eio.close(client.eio_sid, "parse error")

    async def _on_connect(self, client: Client, event: Connect) -> None:
        namespace = event.namespace
        if not self._registry.known_namespace(namespace, self.namespaces):
            await self._reply(client, ConnectError(
                namespace=namespace, data={"message": "Invalid namespace"}))
            return
        socket = self.manager.register(client, namespace)
        if self.always_connect:
            await self._accept(socket)
        refusal: dict[str, Any] = {"message": "Connection rejected by server"}
        try:
            accepted = await self._run_connect_handler(socket, event.data)
        except ConnectionRefusedError as exc:
            accepted, refusal = False, exc.error_args
        except Exception:
            self.logger.exception("connect handler failed for %s", socket.sid)
            accepted = False
        if accepted is False:
            if socket.connected:
                self.manager.forget(socket)
                await self._reply(client, Disconnect(namespace=namespace))
            else:
                self.manager.forget(socket)
                await self._reply(client, ConnectError(namespace=namespace, data=refusal))
        elif not socket.connected:
            await self._accept(socket)

    async def _accept(self, socket: Socket) -> None:
        # connected first: once the client has read "40" (threads: at once), an emit or a
        # disconnect addressed to it must find it
        self.manager.connect(socket)
        await self._reply(socket.client, Connect(namespace=socket.namespace,
                                                 data={"sid": socket.sid}))

    async def _reply(self, client: Client, event: Any) -> None:
        await self._send_frames(client.eio_sid, client.conn.send(event))

    async def _run_connect_handler(self, socket: Socket, auth: Any) -> Any:
        environ = socket.client.environ
        handler, args = self._registry.find("connect", socket.namespace,
                                            (socket.sid, environ, auth))
        if handler is not None:
            extra = len(args) - 3
            if positional_capacity(handler) < len(args):
                args = args[: 2 + extra]  # legacy connect(sid, environ)
            return await self._invoke(handler, args)
        ns_handler, ns_args = self._registry.find_namespace(socket.namespace, ())
        if ns_handler is not None:
            return await ns_handler.trigger_event("connect", *ns_args, socket.sid, environ,
                                                  auth)
        return None

    async def _on_event(self, client: Client, namespace: str, name: str,
                        args: list[Any] | tuple[Any, ...], ack_id: int | None) -> None:
        socket = client.sockets.get(namespace)
        if socket is None or not socket.connected:
            return
        limiter = self.options.rate_limiter
        if limiter is not None and not limiter.allow_event(socket.sid, name, client.environ):
            if not client.throttled:
                client.throttled = True
                self.logger.warning("client %s over its event rate limit: dropping events",
                                    client.eio_sid)
            return
        set_ack_id(ack_id)  # lets handler wrappers see whether an ack is awaited
        handlers = self.handlers.get(namespace)
        handler = handlers.get(name) if handlers is not None else None
        try:
            if handler is not None:  # the common case, without two coroutine layers
                result = handler(socket.sid, *args)
                if hasattr(result, "__await__"):
                    result = await result
            else:
                result = await self._dispatch(name, namespace, (socket.sid, *args))
        except Exception:
            self.logger.exception("handler for %r failed (sid %s)", name, socket.sid)
            return
        if ack_id is not None and socket.connected:
            frames = self.serializer.encode_ack(namespace, ack_id, as_args(result))
            if len(frames) == 1:
                if not self.eio.send_now(client.eio_sid, frames[0]):
                    await self.eio.send(client.eio_sid, frames[0])
            else:
                await self.eio.send_many(client.eio_sid, frames)

    async def _dispatch(self, event: str, namespace: str, args: tuple[Any, ...]) -> Any:
        handler, call_args = self._registry.find(event, namespace, args)
        if handler is not None:
            return await self._invoke(handler, call_args)
        ns_handler, ns_args = self._registry.find_namespace(namespace, args)
        if ns_handler is not None:
            return await ns_handler.trigger_event(event, *ns_args)
        return None

    async def _invoke(self, handler: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        result = handler(*args)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def _disconnect_socket(self, sid: str, namespace: str) -> None:
        socket = self.manager.get_socket(sid, namespace)
        if socket is not None and socket.connected:
            await self._close_socket(socket, self.reason.SERVER_DISCONNECT, notify_client=True)

    async def _close_socket(self, socket: Socket, reason: str,
                            notify_client: bool = False) -> None:
        was_connected = socket.connected
        if notify_client and was_connected:
            await self._reply(socket.client, Disconnect(namespace=socket.namespace))
        self.manager.forget(socket)
        if self.options.rate_limiter is not None:
            self.options.rate_limiter.socket_closed(socket.sid)
        if not was_connected:
            return
        handler, args = self._registry.find("disconnect", socket.namespace, (socket.sid, reason))
        try:
            if handler is not None:
                if positional_capacity(handler) < len(args):
                    args = args[:-1]  # legacy disconnect(sid)
                await self._invoke(handler, args)
            else:
                ns_handler, ns_args = self._registry.find_namespace(socket.namespace, ())
                if ns_handler is not None:
                    await ns_handler.trigger_event("disconnect", *ns_args, socket.sid, reason)
        except Exception:
            self.logger.exception("disconnect handler failed for %s", socket.sid)

    async def _sweep(self) -> None:
        """Close sessions that never joined a namespace, and stalled binary packets."""
        options = self.options
        period = max(0.05, min(options.connect_timeout, options.binary_timeout) / 4)
        while self._sweeping:
            await self.eio.sleep(period)
            now = time.monotonic()
            for client in list(self._clients.values()):
                pending = client.conn.pending_since
                if pending is not None and now - pending > options.binary_timeout:
                    await self._bad_input(client, RemoteProtocolError(
                        "binary attachments not received in time"))
                elif not client.sockets and now - client.opened_at > options.connect_timeout:
                    self.logger.warning("client %s joined no namespace in %s s, closing",
                                        client.eio_sid, options.connect_timeout)
                    client.opened_at = now
                    await self.eio.close(client.eio_sid, "server disconnect")


def _manager_for(options: ServerOptions, logger: Any) -> AsyncManager:
    """The in-process manager, or the message-queue one the ``message_queue`` URL names."""
    if options.message_queue is None:
        return AsyncManager()
    from .pubsub import AsyncPubSubManager

    return AsyncPubSubManager.from_options(options, logger=logger)


class _SessionContext:
    def __init__(self, server: AsyncServer, sid: str, namespace: str | None) -> None:
        self.server = server
        self.sid = sid
        self.namespace = namespace
        self.session: dict[str, Any] = {}

    async def __aenter__(self) -> dict[str, Any]:
        self.session = await self.server.get_session(self.sid, self.namespace)
        return self.session

    async def __aexit__(self, *exc: Any) -> None:
        await self.server.save_session(self.sid, self.session, self.namespace)

