"""Tornado ``Application`` settings -> the one :class:`~sio_integrations.options.ServerOptions`.

Server options are read from the application's settings as ``socketio_<option>``
(``Application(handlers, socketio_ping_interval=10, cookie_secret=...)``); the keys are
derived from :meth:`ServerOptions.option_names`, so a new core option appears here without
a change. Keywords given to ``SocketIO(...)`` win over the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..options import ServerOptions

#: the engine mode of a Tornado host (never auto-detected: see docs/engine.md)
ASYNC_MODE = "tornado"
#: prefix of the server options in ``Application.settings``
PREFIX = "socketio_"


def settings_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``socketio_*`` entries of Tornado settings (unknown ones raise, naming the key)."""
    names = set(ServerOptions.option_names())
    found: dict[str, Any] = {}
    for key, value in settings.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        if key[len(PREFIX):] not in names:
            raise ConfigurationError(f"unknown setting {key!r} in the Application settings")
        found[key] = value
    return found


def server_options(settings: Mapping[str, Any] | None = None, **kwargs: Any) -> ServerOptions:
    """Validated server options from Tornado settings and keyword overrides.

    Unknown ``socketio_*`` settings and invalid values raise :class:`ConfigurationError`
    naming the key; unknown keywords raise ``TypeError``. ``async_mode`` is always
    ``"tornado"``.
    """
    from_settings = settings_options(settings or {})
    mapping = {k: v for k, v in from_settings.items() if k[len(PREFIX):] not in kwargs}
    # the settings alone first, so that an error names the setting
    ServerOptions.from_mapping(mapping, prefix=PREFIX)
    merged = {k[len(PREFIX):]: v for k, v in mapping.items()}
    merged.update(kwargs)
    return ServerOptions.for_host("Tornado", ASYNC_MODE, **merged)
