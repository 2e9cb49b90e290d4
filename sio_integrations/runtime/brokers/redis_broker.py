"""Redis (and Valkey) pub/sub brokers: ``AsyncRedisBroker`` (redis.asyncio) and ``RedisBroker``.

One client publishes (a small pool, reused); every ``listen()`` opens its own connection
and closes it when the iterator ends, so a supervisor that calls ``listen()`` again after a
failure never accumulates connections. Automatic retries inside redis-py are turned off for
the listener (the manager supervises it) and limited to one for publishing (a pooled
connection that went stale while the broker restarted is replaced once).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from ...errors import ConfigurationError

__all__ = ["AsyncRedisBroker", "RedisBroker", "parse_sentinel_url"]

#: seconds a listener waits for a message before checking that it should go on
_POLL = 1.0


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str | None, dict[str, Any]]:
    """``redis+sentinel://[user:password@]host1:port1,host2:port2[/db[/service_name]]``.

    Returns the sentinel addresses, the service name and the master's connection options.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    sentinels = []
    for item in netloc.split(","):
        host, _, port = item.rpartition(":")
        try:
            sentinels.append((host or "localhost", int(port or 26379)))
        except ValueError:
            raise ConfigurationError(f"message_queue: bad sentinel address {item!r}") from None
    options: dict[str, Any] = {}
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    path = [p for p in parts.path.split("/") if p]
    service = None
    if path:
        try:
            options["db"] = int(path[0])
        except ValueError:
            raise ConfigurationError(f"message_queue: bad database {path[0]!r}") from None
        if len(path) > 1:
            service = path[1]
    return sentinels, service, options


def _client_url(url: str) -> str:
    # Valkey speaks the Redis protocol: redis-py serves valkey:// URLs as redis:// ones
    if url.startswith("valkeys://"):
        return "rediss://" + url[len("valkeys://"):]
    if url.startswith("valkey://"):
        return "redis://" + url[len("valkey://"):]
    return url


def _defaults(options: dict[str, Any], retries: int, *, sync: bool) -> dict[str, Any]:
    if sync:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    else:
        from redis.asyncio.retry import Retry  # type: ignore[assignment]
        from redis.backoff import NoBackoff
    merged: dict[str, Any] = {
        "socket_connect_timeout": 5.0,
        # middleboxes cut idle connections without telling anyone
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), retries),
    }
    merged.update(options)
    return merged


class _RedisCommon:
    name = "redis"

    def __init__(self, url: str, *, channel: str = "socketio",
                 options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.channel = channel
        self.options = dict(options or {})
        self._sentinel = url.split("://", 1)[0].lower().endswith("+sentinel")

    def _make_client(self, module: Any, retries: int, sync: bool) -> Any:
        options = _defaults(self.options, retries, sync=sync)
        if self._sentinel:
            sentinels, service, master_options = parse_sentinel_url(self.url)
            sentinel = module.sentinel.Sentinel(
                sentinels, sentinel_kwargs={"socket_connect_timeout": 5.0})
            return sentinel.master_for(service or self.channel, **master_options, **options)
        return module.Redis.from_url(_client_url(self.url), **options)


class AsyncRedisBroker(_RedisCommon):
    """Redis pub/sub for asyncio (``redis.asyncio``)."""

    def __init__(self, url: str, *, channel: str = "socketio",
                 options: dict[str, Any] | None = None) -> None:
        super().__init__(url, channel=channel, options=options)
        self._publisher: Any = None
        self._generation = 0

    def _client(self, retries: int) -> Any:
        import redis.asyncio

        return self._make_client(redis.asyncio, retries, sync=False)

    async def publish(self, payload: bytes) -> None:
        from redis.exceptions import RedisError

        if self._publisher is None:
            self._publisher = self._client(retries=1)
        try:
            await self._publisher.publish(self.channel, payload)
        except (RedisError, OSError) as exc:
            raise ConnectionError(f"redis publish failed: {exc}") from exc

    async def listen(self) -> AsyncIterator[bytes]:
        from redis.exceptions import RedisError

        generation = self._generation
        client = self._client(retries=0)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            try:
                await pubsub.subscribe(self.channel)
                while generation == self._generation:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_POLL)
                    if message is not None and message["type"] == "message":
                        data = message["data"]
                        yield data.encode() if isinstance(data, str) else data
            except (RedisError, OSError) as exc:
                raise ConnectionError(f"redis subscription lost: {exc}") from exc
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def close(self) -> None:
        # listeners of the previous generation end within one poll
        self._generation += 1
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.aclose()


class RedisBroker(_RedisCommon):
    """Redis pub/sub for the synchronous server (threads, eventlet, gevent)."""

    def __init__(self, url: str, *, channel: str = "socketio",
                 options: dict[str, Any] | None = None) -> None:
        super().__init__(url, channel=channel, options=options)
        self._publisher: Any = None
        self._lock = threading.Lock()
        self._generation = 0

    def _client(self, retries: int) -> Any:
        import redis

        return self._make_client(redis, retries, sync=True)

    def publish(self, payload: bytes) -> None:
        from redis.exceptions import RedisError

        with self._lock:
            if self._publisher is None:
                self._publisher = self._client(retries=1)
            publisher = self._publisher
        try:
            publisher.publish(self.channel, payload)
        except (RedisError, OSError) as exc:
            raise ConnectionError(f"redis publish failed: {exc}") from exc

    def listen(self) -> Iterator[bytes]:
        from redis.exceptions import RedisError

        generation = self._generation
        client = self._client(retries=0)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            try:
                pubsub.subscribe(self.channel)
                while generation == self._generation:
                    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL)
                    if message is not None and message["type"] == "message":
                        data = message["data"]
                        yield data.encode() if isinstance(data, str) else data
            except (RedisError, OSError) as exc:
                raise ConnectionError(f"redis subscription lost: {exc}") from exc
        finally:
            pubsub.close()
            client.close()

    def close(self) -> None:
        # listeners of the previous generation end within one poll
        self._generation += 1
        with self._lock:
            publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.close()
