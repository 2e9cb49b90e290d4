"""Typed server settings: the one options object every host plugin derives its keys from."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigurationError

OriginPolicy = str | list[str] | Callable[..., bool] | None

ASYNC_MODES_SYNC = ("threading", "eventlet", "gevent", "gevent_uwsgi")
ASYNC_MODES_ASYNC = ("asgi", "aiohttp", "sanic", "tornado")
TRANSPORTS = ("polling", "websocket")


@dataclasses.dataclass(kw_only=True)
class EngineOptions:
    """Engine.IO settings (a subset of :class:`ServerOptions`)."""

    async_mode: str | None = None
    ping_interval: float = 25.0
    #: extra time granted past ``ping_interval`` before a silent client is dropped
    ping_interval_grace: float = 0.0
    ping_timeout: float = 20.0
    max_http_buffer_size: int = 1_000_000
    allow_upgrades: bool = True
    http_compression: bool = True
    compression_threshold: int = 1024
    cookie: str | dict[str, Any] | None = None
    cors_allowed_origins: OriginPolicy = None
    cors_credentials: bool = True
    transports: list[str] = dataclasses.field(default_factory=lambda: list(TRANSPORTS))
    #: close Engine.IO sessions that join no namespace within this many seconds
    connect_timeout: float = 45.0
    #: give up on a websocket upgrade that does not complete within this many seconds
    upgrade_timeout: float = 10.0
    #: most Engine.IO packets accepted in one long-polling POST body
    max_payload_packets: int = 1000
    #: bytes queued for one client (waiting for its next poll, or behind a websocket
    #: write in flight) before it is disconnected as a slow consumer
    max_send_buffer_size: int = 10_000_000
    engineio_logger: bool | logging.Logger = False
    json: Any = None
    monitor_clients: bool = True
    #: read and write websockets ourselves once the host has accepted them (uvicorn,
    #: aiohttp, werkzeug and gunicorn threads; see docs/engine.md); False keeps the
    #: host's own websocket code for every connection
    direct_websockets: bool = True

    def validate(self) -> None:
        """Raise :class:`ConfigurationError` naming the first invalid setting."""
        _check_number("ping_interval", self.ping_interval, minimum=0.001)
        _check_number("ping_interval_grace", self.ping_interval_grace, minimum=0)
        _check_number("ping_timeout", self.ping_timeout, minimum=0.001)
        _check_number("connect_timeout", self.connect_timeout, minimum=0.001)
        _check_number("upgrade_timeout", self.upgrade_timeout, minimum=0.001)
        _check_int("max_http_buffer_size", self.max_http_buffer_size, minimum=1)
        _check_int("compression_threshold", self.compression_threshold, minimum=0)
        _check_int("max_payload_packets", self.max_payload_packets, minimum=1)
        _check_int("max_send_buffer_size", self.max_send_buffer_size, minimum=1)
        for name in ("allow_upgrades", "http_compression", "cors_credentials", "monitor_clients",
                     "direct_websockets"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be True or False")
        if not self.transports or any(t not in TRANSPORTS for t in self.transports):
            raise ConfigurationError(
                f"transports must be a non-empty list of {TRANSPORTS}, got {self.transports!r}"
            )
        origins = self.cors_allowed_origins
        if not (
            origins is None
            or isinstance(origins, str)
            or callable(origins)
            or (isinstance(origins, (list, tuple, set))
                and all(isinstance(o, str) for o in origins))
        ):
            raise ConfigurationError(
                "cors_allowed_origins must be None (same origin), '*', an origin, a list of "
                "origins or a callable"
            )
        if self.async_mode is not None and self.async_mode not in (
            ASYNC_MODES_SYNC + ASYNC_MODES_ASYNC
        ):
            raise ConfigurationError(f"async_mode {self.async_mode!r} is not supported")


@dataclasses.dataclass(kw_only=True)
class ServerOptions(EngineOptions):
    """Every option a Socket.IO server accepts (python-socketio 5.x names)."""

    client_manager: Any = None
    logger: bool | logging.Logger = False
    serializer: Any = "default"
    async_handlers: bool = True
    always_connect: bool = False
    namespaces: list[str] | str | None = None
    #: most binary attachments accepted in one packet (the JS parser's default is 10)
    max_attachments: int = 10
    #: flood control hook (``sio_integrations.runtime.ratelimit``): per-address connection
    #: and per-socket event limits; None disables it
    rate_limiter: Any = None
    #: seconds a half-received binary packet may wait for its attachments
    binary_timeout: float = 30.0
    #: URL of the message queue connecting the servers of a cluster (``redis://``,
    #: ``rediss://``, ``redis+sentinel://``, ``valkey://``, ``unix://``, ``amqp://``,
    #: ``amqps://``); the server builds its manager from it unless ``client_manager`` is given
    message_queue: str | None = None
    #: the channel (Redis) or exchange (RabbitMQ) name shared by the cluster
    channel: str = "socketio"
    #: shared secret (>= 16 bytes): messages are HMAC-signed and unsigned ones refused
    message_queue_secret: str | bytes | None = None
    #: ``"json"`` or ``"msgpack"``: the encoding of the messages this node publishes
    message_queue_format: str = "json"
    #: extra keyword arguments for the broker client (``Redis.from_url``, aio-pika, kombu)
    message_queue_options: dict[str, Any] | None = None
    #: messages held while the broker is unreachable (0: a failed publish raises at once)
    message_queue_outbox: int = 0
    #: seconds a held message may wait; older ones are dropped (counted, logged)
    message_queue_outbox_age: float = 30.0
    #: default timeout of cluster requests (fetch sockets, server-side calls)
    message_queue_timeout: float = 5.0

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ServerOptions:
        """Build options from constructor keywords; unknown names raise ``TypeError``."""
        kwargs = dict(kwargs)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown server option(s): {', '.join(unknown)}")
        interval = kwargs.get("ping_interval")
        if isinstance(interval, (tuple, list)):
            # python-socketio accepts (interval, grace)
            kwargs["ping_interval"], kwargs["ping_interval_grace"] = interval
        options = cls(**kwargs)
        options.validate()
        return options

    def validate(self) -> None:
        super().validate()
        _check_int("max_attachments", self.max_attachments, minimum=0)
        _check_number("binary_timeout", self.binary_timeout, minimum=0.001)
        if self.namespaces is not None and not (
            self.namespaces == "*"
            or (isinstance(self.namespaces, (list, tuple)) and all(
                isinstance(n, str) for n in self.namespaces))
        ):
            raise ConfigurationError("namespaces must be None, '*' or a list of namespace names")
        self._validate_message_queue()

    def _validate_message_queue(self) -> None:
        url = self.message_queue
        if url is not None and (not isinstance(url, str) or "://" not in url):
            raise ConfigurationError(
                f"message_queue must be a URL such as 'redis://host:6379/0', got {url!r}")
        if not isinstance(self.channel, str) or not self.channel:
            raise ConfigurationError(f"channel must be a non-empty string, got {self.channel!r}")
        secret = self.message_queue_secret
        if secret is not None and (not isinstance(secret, (str, bytes)) or len(secret) < 16):
            raise ConfigurationError("message_queue_secret must be a string of >= 16 characters")
        if self.message_queue_format not in ("json", "msgpack"):
            raise ConfigurationError(
                "message_queue_format must be 'json' or 'msgpack', "
                f"got {self.message_queue_format!r}")
        if self.message_queue_options is not None and not isinstance(
                self.message_queue_options, dict):
            raise ConfigurationError("message_queue_options must be a dict")
        _check_int("message_queue_outbox", self.message_queue_outbox, minimum=0)
        _check_number("message_queue_outbox_age", self.message_queue_outbox_age, minimum=0.001)
        _check_number("message_queue_timeout", self.message_queue_timeout, minimum=0.001)

    @classmethod
    def for_host(cls, host: str, pinned_mode: str, /, **kwargs: Any) -> ServerOptions:
        """Options of a plugin whose host fixes the async mode (``async_mode`` may be
        given only with that value)."""
        mode = kwargs.pop("async_mode", None)
        if mode not in (None, pinned_mode):
            raise ConfigurationError(
                f"async_mode must be {pinned_mode!r} under {host}, got {mode!r}")
        return cls.from_kwargs(async_mode=pinned_mode, **kwargs)

    def server_kwargs(self) -> dict[str, Any]:
        """The ``AsyncServer`` / ``Server`` constructor keywords for these options."""
        kwargs = {name: getattr(self, name) for name in self.option_names()}
        grace = kwargs.pop("ping_interval_grace")
        if grace:
            kwargs["ping_interval"] = (kwargs["ping_interval"], grace)
        return kwargs

    def engine_options(self) -> EngineOptions:
        """The Engine.IO subset of these options."""
        names = {f.name for f in dataclasses.fields(EngineOptions)}
        return EngineOptions(**{n: getattr(self, n) for n in names})

    @classmethod
    def option_names(cls) -> list[str]:
        """All option names, in declaration order (plugins derive their keys from these)."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, prefix: str = "") -> ServerOptions:
        """Build options from a settings mapping such as ``{"PING_INTERVAL": 10}``.

        Keys are matched case-insensitively after ``prefix``; unknown keys raise
        :class:`ConfigurationError` naming the key.
        """
        names = {n.upper(): n for n in cls.option_names()}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            bare = key[len(prefix):] if prefix and key.startswith(prefix) else key
            name = names.get(bare.upper())
            if name is None:
                raise ConfigurationError(f"unknown setting {key!r}")
            kwargs[name] = value
        try:
            return cls.from_kwargs(**kwargs)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{prefix}{exc}") from None


def _check_number(name: str, value: Any, *, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigurationError(f"{name} must be a number >= {minimum}, got {value!r}")


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an integer >= {minimum}, got {value!r}")
