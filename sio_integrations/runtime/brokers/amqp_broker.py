"""RabbitMQ (AMQP 0-9-1) brokers: ``AioPikaBroker`` (asyncio) and ``KombuBroker`` (sync).

Messages go through a fanout exchange named after the channel (non-durable); every
``listen()`` opens its own connection with a server-named exclusive queue bound to it,
and closes the connection when the iterator ends. The asyncio publisher waits for the
broker's confirmation, so a message the broker did not take raises ``ConnectionError``.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = ["AioPikaBroker", "KombuBroker"]

#: seconds a listener waits for a message before checking that it should go on
_POLL = 1.0


class AioPikaBroker:
    """RabbitMQ for asyncio (aio-pika)."""

    name = "rabbitmq"

    def __init__(self, url: str, *, channel: str = "socketio",
                 options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.channel = channel
        self.options = {"timeout": 5.0, **(options or {})}
        self._publisher: Any = None  # (connection, exchange)
        self._lock: asyncio.Lock | None = None
        self._generation = 0

    async def _open(self) -> tuple[Any, Any, Any]:
        import aio_pika

        connection = await aio_pika.connect(self.url, **self.options)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self.channel, aio_pika.ExchangeType.FANOUT, durable=False)
        except BaseException:
            await connection.close()
            raise
        return connection, channel, exchange

    async def publish(self, payload: bytes) -> None:
        import aio_pika

        if self._lock is None:
            self._lock = asyncio.Lock()
        try:
            async with self._lock:
                if self._publisher is None or self._publisher[0].is_closed:
                    await self._drop_publisher()
                    connection, _, exchange = await self._open()
                    self._publisher = (connection, exchange)
                exchange = self._publisher[1]
            await exchange.publish(aio_pika.Message(body=payload), routing_key="")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._drop_publisher()
            raise ConnectionError(f"rabbitmq publish failed: {exc!r}") from exc

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            try:
                await publisher[0].close()
            except Exception:
                pass

    async def listen(self) -> AsyncIterator[bytes]:
        generation = self._generation
        try:
            connection, channel, exchange = await self._open()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise ConnectionError(f"rabbitmq connection failed: {exc!r}") from exc
        inbox: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_message(message: Any) -> None:
            inbox.put_nowait(message.body)

        try:
            try:
                queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
                await queue.bind(exchange)
                await queue.consume(on_message, no_ack=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise ConnectionError(f"rabbitmq subscription failed: {exc!r}") from exc
            while generation == self._generation:
                if connection.is_closed or channel.is_closed:
                    raise ConnectionError("rabbitmq connection lost")
                try:
                    body = await asyncio.wait_for(inbox.get(), _POLL)
                except asyncio.TimeoutError:
                    continue
                yield body
        finally:
            try:
                await connection.close()
            except Exception:
                pass

    async def close(self) -> None:
        self._generation += 1
        await self._drop_publisher()


class KombuBroker:
    """RabbitMQ (or any kombu transport) for the synchronous server."""

    name = "rabbitmq"

    def __init__(self, url: str, *, channel: str = "socketio",
                 options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.channel = channel
        self.options = {"connect_timeout": 5.0, **(options or {})}
        self._lock = threading.Lock()
        self._publisher: Any = None  # (connection, producer)
        self._generation = 0

    def _exchange(self) -> Any:
        kombu: Any = importlib.import_module("kombu")  # untyped library

        return kombu.Exchange(self.channel, type="fanout", durable=False)

    def _connect(self) -> Any:
        kombu: Any = importlib.import_module("kombu")  # untyped library

        connection = kombu.Connection(self.url, **self.options)
        # one attempt: connect() would retry once after 2 s, and the manager supervises
        connection.ensure_connection(max_retries=0)
        return connection

    def publish(self, payload: bytes) -> None:
        with self._lock:
            try:
                if self._publisher is None:
                    connection = self._connect()
                    self._publisher = (connection, connection.Producer(serializer="raw"))
                exchange = self._exchange()
                self._publisher[1].publish(
                    payload, exchange=exchange, routing_key="", declare=[exchange],
                    content_type="application/octet-stream", content_encoding="binary",
                    retry=False)
            except Exception as exc:
                self._drop_publisher()
                raise ConnectionError(f"rabbitmq publish failed: {exc!r}") from exc

    def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            try:
                publisher[0].release()
            except Exception:
                pass

    def listen(self) -> Iterator[bytes]:
        kombu: Any = importlib.import_module("kombu")  # untyped library

        generation = self._generation
        try:
            connection = self._connect()
        except Exception as exc:
            raise ConnectionError(f"rabbitmq connection failed: {exc!r}") from exc
        received: deque[bytes] = deque()
        try:
            try:
                queue = kombu.Queue(f"{self.channel}.{uuid.uuid4().hex}",
                                    exchange=self._exchange(), routing_key="", exclusive=True,
                                    auto_delete=True, durable=False)
                consumer = connection.Consumer(
                    [queue], on_message=lambda message: received.append(message.body),
                    no_ack=True)
                consumer.consume()
            except Exception as exc:
                raise ConnectionError(f"rabbitmq subscription failed: {exc!r}") from exc
            while generation == self._generation:
                try:
                    connection.drain_events(timeout=_POLL)
                except TimeoutError:
                    pass
                except Exception as exc:
                    raise ConnectionError(f"rabbitmq connection lost: {exc!r}") from exc
                while received:
                    yield received.popleft()
        finally:
            try:
                connection.release()
            except Exception:
                pass

    def close(self) -> None:
        self._generation += 1
        with self._lock:
            self._drop_publisher()
