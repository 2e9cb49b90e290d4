"""Client settings: every ``Client``/``AsyncClient`` option, typed and validated once."""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

from ..errors import ConfigurationError

__all__ = ["ClientOptions"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """What a client is configured with (python-socketio 5.x names, plus delivery options)."""

    reconnection: bool = True
    #: 0 means no limit
    reconnection_attempts: int = 0
    reconnection_delay: float = 1.0
    reconnection_delay_max: float = 5.0
    #: jitter as a fraction of the delay (0.5: between 50% and 150% of it)
    randomization_factor: float = 0.5
    logger: Any = False
    engineio_logger: Any = False
    serializer: Any = "default"
    json: Any = None
    handle_sigint: bool = True
    request_timeout: float = 5.0
    http_session: Any = None
    #: True, False, or an ``ssl.SSLContext`` used for every request and the websocket
    ssl_verify: bool | ssl.SSLContext = True
    websocket_extra_options: dict[str, Any] | None = None
    timestamp_requests: bool = True
    #: emits made while disconnected are kept (up to this many per namespace) and sent
    #: after reconnecting; 0 turns buffering off (such emits raise BadNamespaceError)
    max_buffered_emits: int = 1000
    #: at-least-once delivery: resend an unacknowledged emit up to this many times
    retries: int = 0
    #: seconds to wait for the acknowledgement of each attempt when ``retries`` is set
    ack_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ("reconnection_attempts", "max_buffered_emits", "retries"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ConfigurationError(f"{name} must be an int >= 0, got {value!r}")
        for name in ("reconnection_delay", "reconnection_delay_max", "request_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
        if isinstance(self.ack_timeout, bool) or not isinstance(
                self.ack_timeout, (int, float)) or self.ack_timeout <= 0:
            raise ConfigurationError(f"ack_timeout must be a number > 0, got {self.ack_timeout!r}")
        factor = self.randomization_factor
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ConfigurationError(
                f"randomization_factor must be a fraction between 0 and 1, got {factor!r}")
        if not isinstance(self.ssl_verify, (bool, ssl.SSLContext)):
            raise ConfigurationError("ssl_verify must be True, False or an ssl.SSLContext")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ClientOptions:
        """Build from keyword arguments; unknown names raise ``TypeError`` naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError("unknown client option(s): " + ", ".join(unknown))
        return cls(**kwargs)
