"""A client manager spanning several server processes through a message queue.

Every operation is applied to this process's sockets at once and published for the other
nodes, which apply it to theirs (a node ignores its own messages). On top of
python-socketio's operations it offers JS socket.io's cluster operations: fetch the
sockets of a room on every node, make them join/leave rooms or disconnect, server-side
events with answers, and ``call()`` of a sid that lives on another node. Every request to
other nodes ends with a result or :class:`ClusterTimeoutError`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from ...errors import AckTimeoutError, ClusterTimeoutError, ConfigurationError
from ...protocol.cluster import ClusterCodec, SocketInfo, selector, socket_handshake
from ..backends import AsyncBackend
from ..sockets import as_args, call_result
from .broker import AsyncBroker
from .manager import AsyncManager
from .pubsub_bus import AsyncBus, BusHealth


class AsyncPubSubManager(AsyncManager):
    """A manager connecting the nodes of a cluster through ``broker``.

    ``write_only=True`` makes a node that only sends (an external emitter: no listener).
    ``secret`` signs every message (HMAC-SHA256) and refuses unsigned ones; ``format`` is
    ``"json"`` or ``"msgpack"``. ``outbox`` > 0 holds up to that many messages during an
    outage (each for at most ``outbox_age`` seconds) instead of raising
    :class:`MessageQueueError`. ``request_timeout`` is the default for cluster requests.
    """

    name = "pubsub"

    def __init__(self, broker: AsyncBroker, *, write_only: bool = False, logger: Any = None,
                 secret: bytes | str | None = None, format: str = "json",  # noqa: A002
                 outbox: int = 0, outbox_age: float = 30.0, request_timeout: float = 5.0,
                 heartbeat_interval: float = 5.0, json: Any = None,
                 max_message_bytes: int = 10_000_000) -> None:
        super().__init__()
        if request_timeout <= 0 or heartbeat_interval <= 0:
            raise ConfigurationError("request_timeout and heartbeat_interval must be > 0")
        self.write_only = write_only
        self._logger = logger
        self.request_timeout = request_timeout
        codec = ClusterCodec(fmt=format, secret=secret, json_module=json,
                             max_bytes=max_message_bytes)
        self.bus = AsyncBus(
            broker, codec=codec, logger=self._log(), listen=not write_only, outbox=outbox,
            outbox_age=outbox_age, heartbeat=heartbeat_interval, on_message=self._on_message)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: id -> (callback, deadline) of emits waiting for a remote acknowledgement
        self._callbacks: dict[int, tuple[Callable[..., Any], float]] = {}
        #: id -> request waiting for the other nodes' answers
        self._requests: dict[int, _Request] = {}
        self._server_handlers: dict[str, Callable[..., Any]] = {}

    @classmethod
    def from_options(cls, options: Any, *, logger: Any = None) -> AsyncPubSubManager:
        """The manager for a server's ``message_queue`` option (URL and related options)."""
        from ..brokers import new_async_broker

        broker = new_async_broker(
            options.message_queue, channel=options.channel,
            **(options.message_queue_options or {}))
        return cls(broker, logger=logger, secret=options.message_queue_secret,
                   format=options.message_queue_format, outbox=options.message_queue_outbox,
                   outbox_age=options.message_queue_outbox_age,
                   request_timeout=options.message_queue_timeout)

    def _log(self) -> Any:
        from ..logs import make_logger

        if self._logger is not None and self._logger is not False:
            return make_logger("sio_integrations.pubsub", self._logger)
        return make_logger("sio_integrations.pubsub", False)

    # -- lifecycle ------------------------------------------------------------------------

    async def initialize(self) -> None:
        await self._ensure_started()

    async def _ensure_started(self) -> None:
        if not self.bus.running:
            backend = self.server.eio.backend if self.server is not None else AsyncBackend()
            await self.bus.start(backend)

    async def shutdown(self) -> None:
        """Leave the cluster: say goodbye, stop listening, close the broker connections."""
        await self.bus.stop()

    close = shutdown

    def health(self) -> BusHealth:
        """Connected?, last message time, reconnects, published/failed/dropped counts."""
        return self.bus.health()

    @property
    def node_id(self) -> str:
        return self.bus.node

    # -- python-socketio's operations ---------------------------------------------------

    async def emit(self, event: str, data: Any, namespace: str = "/", room: Any = None,
                   skip_sid: Any = None, callback: Callable[..., Any] | None = None,
                   ignore_queue: bool = False, **kwargs: Any) -> None:
        """Emit to the selected sockets of every node (``ignore_queue``: this node only).

        A ``callback`` needs ``room`` to be one sid (on any node).
        """
        room = kwargs.pop("to", None) if room is None else room
        args = as_args(data)
        local = not self.write_only and isinstance(room, str) and room in self.sockets
        if ignore_queue or local:  # a sid of this node lives nowhere else
            await self.emit_local(event, args, namespace, room, skip_sid, callback)
            return
        await self._ensure_started()
        cb = None
        if callback is not None:
            if not isinstance(room, str):
                raise ValueError("an emit with a callback must address one sid (to=sid)")
            cb = self._add_callback(callback, self.request_timeout * 12)
        elif not self.write_only:
            await self.emit_local(event, args, namespace, room, skip_sid, None)
        await self.bus.publish("emit", ns=namespace, ev=event, args=args, to=selector(room),
                               skip=selector(skip_sid), cb=cb)

    async def remote_call(self, event: str, data: Any, sid: str, namespace: str,
                          timeout: float) -> Any:
        """``call()`` of a sid on another node: its acknowledgement, or TimeoutError."""
        done = self._backend().event()
        result: list[Any] = []

        def on_ack(*args: Any) -> None:
            result.extend(args)
            done.set()

        await self._ensure_started()
        cb = self._add_callback(on_ack, timeout)
        await self.bus.publish("emit", ns=namespace, ev=event, args=as_args(data), to=sid,
                               skip=None, cb=cb)
        if not await self._backend().wait_event(done, timeout):
            self._callbacks.pop(cb, None)
            raise AckTimeoutError(f"no acknowledgement for {event!r} within {timeout} s")
        return call_result(result)

    async def enter_room(self, sid: str, namespace: str, room: str) -> None:
        if sid in self.sockets:
            await super().enter_room(sid, namespace, room)
        else:
            await self._publish("enter", ns=namespace, sid=sid, room=room)

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        if sid in self.sockets:
            await super().leave_room(sid, namespace, room)
        else:
            await self._publish("leave", ns=namespace, sid=sid, room=room)

    async def close_room(self, room: str, namespace: str = "/") -> None:
        await super().close_room(room, namespace)
        await self._publish("close", ns=namespace, room=room)

    async def disconnect(self, sid: str, namespace: str = "/", ignore_queue: bool = False,
                         **kwargs: Any) -> None:
        if sid in self.sockets or ignore_queue:
            if self.server is not None:
                await super().disconnect(sid, namespace)
        else:
            await self._publish("disconnect", ns=namespace, sid=sid)

    # -- JS socket.io's cluster operations -------------------------------------------------

    async def fetch_sockets(self, room: Any = None, namespace: str = "/", skip: Any = None,
                            timeout: float | None = None) -> list[SocketInfo]:
        """The sockets selected by ``room``/``skip`` on every node (sid, rooms, handshake
        data, session data). Raises :class:`ClusterTimeoutError` (with ``partial``) when a
        node does not answer within ``timeout``."""
        found = self._local_sockets(namespace, room, skip)
        answers = await self._request("fetch", timeout, ns=namespace, to=selector(room),
                                      skip=selector(skip))
        for answer in answers:
            if type(answer) is list:
                for item in answer:
                    info = SocketInfo.from_wire(item, namespace)
                    if info is not None:
                        found.append(info)
        return found

    async def sockets_join(self, rooms: str | list[str], room: Any = None,
                           namespace: str = "/", skip: Any = None) -> None:
        """Make the selected sockets of every node enter ``rooms``."""
        names = [rooms] if isinstance(rooms, str) else list(rooms)
        self._apply_join(namespace, room, skip, names, True)
        await self._publish("join", ns=namespace, to=selector(room), skip=selector(skip),
                            rooms=names)

    async def sockets_leave(self, rooms: str | list[str], room: Any = None,
                            namespace: str = "/", skip: Any = None) -> None:
        """Make the selected sockets of every node leave ``rooms``."""
        names = [rooms] if isinstance(rooms, str) else list(rooms)
        self._apply_join(namespace, room, skip, names, False)
        await self._publish("part", ns=namespace, to=selector(room), skip=selector(skip),
                            rooms=names)

    async def disconnect_sockets(self, room: Any = None, namespace: str = "/",
                                 skip: Any = None) -> None:
        """Disconnect the selected sockets of every node."""
        await self._kick(namespace, room, skip)
        await self._publish("kick", ns=namespace, to=selector(room), skip=selector(skip))

    def on_server_event(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register ``handler(*args)`` for server-side events from other nodes; what it
        returns answers a :meth:`server_call`. Usable as a decorator."""
        if handler is None:
            def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                self._server_handlers[event] = fn
                return fn
            return decorator
        self._server_handlers[event] = handler
        return handler

    async def server_emit(self, event: str, data: Any = None) -> None:
        """Send an event to the other nodes' :meth:`on_server_event` handlers."""
        await self._publish("serverevent", id=None, ev=event, args=as_args(data))

    async def server_call(self, event: str, data: Any = None,
                          timeout: float | None = None) -> list[Any]:
        """Like :meth:`server_emit`, and return every other node's answer."""
        return await self._request("serverevent", timeout, ev=event, args=as_args(data))

    # -- internals ------------------------------------------------------------------------

    def _backend(self) -> Any:
        return self.bus.backend or AsyncBackend()

    async def _publish(self, kind: str, **fields: Any) -> None:
        await self._ensure_started()
        await self.bus.publish(kind, **fields)

    def _add_callback(self, callback: Callable[..., Any], timeout: float) -> int:
        now = time.monotonic()
        with self._lock:
            for key, (_, deadline) in list(self._callbacks.items()):
                if deadline < now:  # never answered: forget it rather than leak it
                    self._callbacks.pop(key, None)
            cb = next(self._ids)
            self._callbacks[cb] = (callback, now + timeout)
        return cb

    async def _request(self, kind: str, timeout: float | None, **fields: Any) -> list[Any]:
        await self._ensure_started()
        timeout = self.request_timeout if timeout is None else timeout
        waiting = set(self.bus.alive_nodes())
        if not waiting:
            return []
        request = _Request(waiting, self._backend().event())
        rid = next(self._ids)
        self._requests[rid] = request
        try:
            await self.bus.publish(kind, id=rid, **fields)
            if not await self._backend().wait_event(request.done, timeout):
                raise ClusterTimeoutError(
                    f"{len(request.waiting)} node(s) did not answer {kind!r} within "
                    f"{timeout} s", partial=list(request.answers))
        finally:
            self._requests.pop(rid, None)
        return request.answers

    def _local_sockets(self, namespace: str, room: Any, skip: Any) -> list[SocketInfo]:
        if self.write_only:
            return []
        found = []
        for sid in self.rooms.recipients(namespace, room, skip):
            socket = self.sockets.get(sid)
            if socket is not None and socket.connected:
                found.append(SocketInfo(
                    sid=sid, namespace=namespace, rooms=tuple(self.rooms.rooms(namespace, sid)),
                    handshake=socket_handshake(socket.client.environ),
                    data=self._shareable(socket.session), node=self.bus.node))
        return found

    def _shareable(self, session: dict[str, Any]) -> Any:
        try:
            self.bus.codec.encode("res", "", data=session)
        except (TypeError, ValueError):
            return None  # the session holds objects the queue cannot carry
        return session

    def _apply_join(self, namespace: str, room: Any, skip: Any, names: list[str],
                    join: bool) -> None:
        for sid in self.rooms.recipients(namespace, room, skip):
            for name in names:
                if join:
                    self.rooms.enter(namespace, sid, name)
                else:
                    self.rooms.leave(namespace, sid, name)

    async def _kick(self, namespace: str, room: Any, skip: Any) -> None:
        if self.server is None:
            return
        for sid in self.rooms.recipients(namespace, room, skip):
            await self.server._disconnect_socket(sid, namespace)

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["k"]
        if kind == "emit":
            callback = None
            if message["cb"] is not None:
                if not isinstance(message["to"], str) or message["to"] not in self.sockets:
                    return  # a callback emit is for the node owning that sid only
                callback = self._relay_ack(message["n"], message["cb"])
            await self.emit_local(message["ev"], message["args"], message["ns"],
                                  message["to"], message["skip"], callback)
        elif kind == "ack":
            if message["dst"] == self.bus.node:
                with self._lock:
                    entry = self._callbacks.pop(message["id"], None)
                if entry is not None:
                    result = entry[0](*message["args"])
                    if hasattr(result, "__await__"):
                        await result
        elif kind == "res":
            request = self._requests.get(message["id"])
            if message["dst"] == self.bus.node and request is not None:
                request.answer(message["n"], message["data"])
        elif kind in ("enter", "leave", "disconnect", "close"):
            await self._on_room_message(kind, message)
        elif kind in ("join", "part"):
            self._apply_join(message["ns"], message["to"], message["skip"], message["rooms"],
                             kind == "join")
        elif kind == "kick":
            await self._kick(message["ns"], message["to"], message["skip"])
        elif kind == "fetch":
            await self._answer(message, [
                info.to_wire() for info in self._local_sockets(
                    message["ns"], message["to"], message["skip"])])
        elif kind == "serverevent":
            await self._on_server_event(message)
        elif kind == "bye":
            for request in list(self._requests.values()):
                request.answer(message["n"], None, counted=False)

    async def _on_room_message(self, kind: str, message: dict[str, Any]) -> None:
        ns = message["ns"]
        if kind == "close":
            await super().close_room(message["room"], ns)
        elif message["sid"] in self.sockets:
            if kind == "enter":
                await super().enter_room(message["sid"], ns, message["room"])
            elif kind == "leave":
                await super().leave_room(message["sid"], ns, message["room"])
            elif self.server is not None:
                await super().disconnect(message["sid"], ns)

    async def _on_server_event(self, message: dict[str, Any]) -> None:
        handler = self._server_handlers.get(message["ev"])
        answer = None
        if handler is not None:
            try:
                answer = handler(*message["args"])
                if hasattr(answer, "__await__"):
                    answer = await answer
            except Exception:
                self._log().exception("server event handler %r failed", message["ev"])
                answer = None
        if message["id"] is not None:
            await self._answer(message, answer)

    async def _answer(self, message: dict[str, Any], data: Any) -> None:
        await self.bus.publish("res", dst=message["n"], id=message["id"], data=data)

    def _relay_ack(self, node: str, cb: int) -> Callable[..., Any]:
        async def relay(*args: Any) -> None:
            await self.bus.publish("ack", dst=node, id=cb, args=list(args))
        return relay


class _Request:
    """Answers to one request, and the nodes still expected to give one."""

    def __init__(self, waiting: set[str], done: Any) -> None:
        self.waiting = waiting
        self.done = done
        self.answers: list[Any] = []

    def answer(self, node: str, data: Any, counted: bool = True) -> None:
        if node in self.waiting:
            self.waiting.discard(node)
            if counted:
                self.answers.append(data)
            if not self.waiting:
                self.done.set()
