"""``settings.SOCKETIO`` -> the one :class:`~sio_integrations.options.ServerOptions` object.

Every server option is a key of the ``SOCKETIO`` dict, upper case (``PING_INTERVAL``,
``CORS_ALLOWED_ORIGINS``, ...): the names are derived from ``ServerOptions``, so a new option
of the core appears here without a change. A few keys belong to the Django host only
(:data:`DJANGO_KEYS`). Settings are read when first needed and again after
``override_settings`` (see apps.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..options import ASYNC_MODES_ASYNC, ServerOptions

SETTING = "SOCKETIO"

#: keys of the Django host itself, with their defaults
DJANGO_KEYS: dict[str, Any] = {
    # URL path of the Engine.IO endpoint (socketio_urlpatterns, get_asgi_application, ...)
    "PATH": "socket.io",
    # alias in CHANNEL_LAYERS carrying messages between workers; None turns scale-out off.
    # Unset: "default" when CHANNEL_LAYERS has it.
    "CHANNEL_LAYER": ...,
    # the channel-layer group every worker listens on
    "CHANNEL_LAYER_GROUP": "sio_integrations",
    # modules looked up in every installed app at start-up
    "AUTODISCOVER": "sockets",
}


def require_channels(feature: str) -> None:
    """Raise ``ImportError`` naming the extra to install when Channels is missing."""
    import importlib.util

    if importlib.util.find_spec("channels") is None:
        raise ImportError(f"{feature} needs Channels: pip install 'sio-integrations[django]'")


def option_keys() -> dict[str, str]:
    """``SOCKETIO`` key -> server option name, for every server option."""
    return {name.upper(): name for name in ServerOptions.option_names()}


def raw_settings() -> Mapping[str, Any]:
    """The ``SOCKETIO`` dict (empty when unset); raises if it is not a mapping."""
    from django.conf import settings

    value = getattr(settings, SETTING, None)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{SETTING} must be a dict, got {type(value).__name__}")
    return value


def django_setting(key: str) -> Any:
    """One host key of ``SOCKETIO`` (``PATH``, ``CHANNEL_LAYER``, ...) with its default."""
    value = raw_settings().get(key, DJANGO_KEYS[key])
    if key == "CHANNEL_LAYER" and value is ...:
        return default_channel_layer()
    return value


def default_channel_layer() -> str | None:
    """``"default"`` when ``CHANNEL_LAYERS`` configures it, else None."""
    from django.conf import settings

    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    return "default" if "default" in layers else None


def option_values() -> dict[str, Any]:
    """The server options given in ``SOCKETIO`` (host keys left out), by option name.

    Unknown keys raise :class:`ConfigurationError` naming the key (the system check
    ``sio_integrations.E002`` reports them at start-up).
    """
    names = option_keys()
    values: dict[str, Any] = {}
    for key, value in raw_settings().items():
        if key in DJANGO_KEYS:
            continue
        name = names.get(str(key).upper())
        if name is None:
            raise ConfigurationError(f"unknown {SETTING} key {key!r}")
        values[name] = value
    return values


def server_options(**overrides: Any) -> ServerOptions:
    """Validated options of the project's server (``async_mode`` defaults to ``"asgi"``)."""
    values = option_values()
    values.update(overrides)
    values.setdefault("async_mode", "asgi")
    try:
        return ServerOptions.from_kwargs(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{SETTING}: {exc}") from None


def is_async_mode(mode: str | None) -> bool:
    """Whether ``mode`` needs the asyncio server (``None`` means the default, ``asgi``)."""
    return mode is None or mode in ASYNC_MODES_ASYNC
