"""Broker clients for the message-queue managers, chosen by URL scheme.

``broker_from_url`` is what the managers (and plugins) call; the broker classes themselves
import their client library only when constructed, so this package costs nothing to import.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigurationError

__all__ = ["AMQP_SCHEMES", "REDIS_SCHEMES", "broker_from_url", "new_async_broker",
           "new_sync_broker"]

REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "unix", "redis+sentinel",
                 "valkey+sentinel")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")


def broker_from_url(url: str, *, asyncio: bool, channel: str = "socketio",
                    **options: Any) -> Any:
    """A broker for ``url``: an ``AsyncBroker`` when ``asyncio`` is true, else a ``Broker``.

    ``options`` go to the client library (``Redis.from_url``, ``aio_pika.connect``,
    ``kombu.Connection``). Raises :class:`ConfigurationError` naming the
    ``message_queue`` setting for an unknown scheme or a missing client library.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(f"message_queue must be a URL, got {url!r}")
    scheme = url.split("://", 1)[0].lower()
    if scheme in REDIS_SCHEMES:
        _require("redis", "redis", url)
        from . import redis_broker

        cls: Any = redis_broker.AsyncRedisBroker if asyncio else redis_broker.RedisBroker
        return cls(url, channel=channel, options=options)
    if scheme in AMQP_SCHEMES:
        _require("aio_pika" if asyncio else "kombu", "rabbitmq", url)
        from . import amqp_broker

        cls = amqp_broker.AioPikaBroker if asyncio else amqp_broker.KombuBroker
        return cls(url, channel=channel, options=options)
    raise ConfigurationError(
        f"message_queue: unsupported URL scheme {scheme!r} "
        f"(supported: {', '.join(REDIS_SCHEMES + AMQP_SCHEMES)})")


def new_async_broker(url: str, channel: str = "socketio", **options: Any) -> Any:
    """``broker_from_url(url, asyncio=True, ...)`` (the name the asyncio manager uses)."""
    return broker_from_url(url, asyncio=True, channel=channel, **options)


def new_sync_broker(url: str, channel: str = "socketio", **options: Any) -> Any:
    """``broker_from_url(url, asyncio=False, ...)`` (the generated manager's name)."""
    return broker_from_url(url, asyncio=False, channel=channel, **options)


def _require(module: str, extra: str, url: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"message_queue {redact(url)!r} needs the {module} package: "
            f"pip install 'sio-integrations[{extra}]'") from None


def redact(url: str) -> str:
    """``url`` without its password, for logs and error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    auth, _, host = rest.rpartition("@")
    user = auth.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in auth else f"{scheme}://{user}@{host}"
