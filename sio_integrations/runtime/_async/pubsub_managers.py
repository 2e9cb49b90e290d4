"""python-socketio's message-queue manager names, and the external emitter.

``AsyncRedisManager`` / ``AsyncAioPikaManager`` take python-socketio's constructor
arguments and build the matching broker; everything else is :class:`AsyncPubSubManager`.
``AsyncEmitter`` is for processes that are not servers (workers, scripts, cron jobs).
"""

from __future__ import annotations

from typing import Any

from ..brokers import new_async_broker
from .pubsub import AsyncPubSubManager
from .pubsub_bus import BusHealth


class AsyncRedisManager(AsyncPubSubManager):
    """Redis (or Valkey) pub/sub: ``redis://``, ``rediss://``, ``unix://``, ``valkey://``
    and ``redis+sentinel://[:password@]host:port,host:port/db/service_name`` URLs.

    ``redis_options`` go to ``Redis.from_url`` (or ``Sentinel.master_for``); the other
    keywords (``secret``, ``outbox``, ...) are :class:`AsyncPubSubManager`'s.
    """

    name = "redis"

    def __init__(self, url: str = "redis://localhost:6379/0", channel: str = "socketio",
                 write_only: bool = False, logger: Any = None,
                 redis_options: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.redis_url = url
        self.channel = channel
        broker = new_async_broker(url, channel=channel, **(redis_options or {}))
        super().__init__(broker, write_only=write_only, logger=logger, **kwargs)


class AsyncAioPikaManager(AsyncPubSubManager):
    """RabbitMQ (AMQP 0-9-1) through a fanout exchange named ``channel``: ``amqp://`` and
    ``amqps://`` URLs. The asyncio manager uses aio-pika, the synchronous one kombu.

    ``connection_options`` go to the client's connect call; the other keywords are
    :class:`AsyncPubSubManager`'s.
    """

    name = "rabbitmq"

    def __init__(self, url: str = "amqp://guest:guest@localhost:5672//",
                 channel: str = "socketio", write_only: bool = False, logger: Any = None,
                 connection_options: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        self.url = url
        self.channel = channel
        for legacy in ("exchange_options", "queue_options", "producer_options"):
            kwargs.pop(legacy, None)  # python-socketio's kombu knobs: our exchange is fixed
        broker = new_async_broker(url, channel=channel, **(connection_options or {}))
        super().__init__(broker, write_only=write_only, logger=logger, **kwargs)


class AsyncEmitter:
    """Emit to the sockets of a cluster from a process that is not a server.

    ``AsyncEmitter("redis://...")`` (or ``broker=`` any broker) connects lazily and never
    listens. Its methods mirror the server's: ``emit``, ``send``, ``enter_room``,
    ``leave_room``, ``close_room``, ``disconnect``, plus the cluster operations
    ``sockets_join``, ``sockets_leave``, ``disconnect_sockets`` and ``server_emit``.
    A message the queue did not take raises :class:`MessageQueueError` (or waits in the
    outbox when ``outbox`` > 0). Acknowledgements cannot reach an emitter.
    """

    def __init__(self, url: str | None = None, *, broker: Any = None,
                 channel: str = "socketio", options: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if broker is None:
            if url is None:
                raise ValueError("pass the message queue URL or a broker")
            broker = new_async_broker(url, channel=channel, **(options or {}))
        self.manager = AsyncPubSubManager(broker, write_only=True, **kwargs)

    async def emit(self, event: str, data: Any = None, to: Any = None, room: Any = None,
                   skip_sid: Any = None, namespace: str | None = None) -> None:
        """Emit to a sid, a room, several rooms, or everyone (``to=None``)."""
        await self.manager.emit(event, data, namespace or "/",
                                room=to if to is not None else room, skip_sid=skip_sid)

    async def send(self, data: Any, to: Any = None, room: Any = None, skip_sid: Any = None,
                   namespace: str | None = None) -> None:
        """Emit a ``message`` event."""
        await self.emit("message", data, to=to, room=room, skip_sid=skip_sid,
                        namespace=namespace)

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self.manager.enter_room(sid, namespace or "/", room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self.manager.leave_room(sid, namespace or "/", room)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        await self.manager.close_room(room, namespace or "/")

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        await self.manager.disconnect(sid, namespace or "/")

    async def sockets_join(self, rooms: str | list[str], to: Any = None,
                           namespace: str | None = None, skip: Any = None) -> None:
        await self.manager.sockets_join(rooms, to, namespace or "/", skip)

    async def sockets_leave(self, rooms: str | list[str], to: Any = None,
                            namespace: str | None = None, skip: Any = None) -> None:
        await self.manager.sockets_leave(rooms, to, namespace or "/", skip)

    async def disconnect_sockets(self, to: Any = None, namespace: str | None = None,
                                 skip: Any = None) -> None:
        await self.manager.disconnect_sockets(to, namespace or "/", skip)

    async def server_emit(self, event: str, data: Any = None) -> None:
        await self.manager.server_emit(event, data)

    def health(self) -> BusHealth:
        return self.manager.health()

    async def close(self) -> None:
        """Send what the outbox still holds if the broker takes it, and disconnect."""
        await self.manager.shutdown()

    async def __aenter__(self) -> AsyncEmitter:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
