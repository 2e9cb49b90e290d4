"""``app.config["SOCKETIO_*"]`` -> the one :class:`~sio_integrations.options.ServerOptions`.

Every server option has a key named ``SOCKETIO_`` + its name in capitals, derived from
``ServerOptions.option_names()``, so an option added to the core appears here at once. The
plugin adds a few keys of its own (:data:`PLUGIN_DEFAULTS`). Keyword arguments of
``SocketIO(...)`` / ``init_app(...)`` override the config; an unknown ``SOCKETIO_`` key or
an invalid value fails at ``init_app`` with the key's name.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..options import ASYNC_MODES_SYNC, ServerOptions

PREFIX = "SOCKETIO_"

#: options of the Flask plugin itself (not of the server), with their defaults
PLUGIN_DEFAULTS: dict[str, Any] = {
    # the URL path of the Socket.IO endpoint (the JS client's ``path`` option)
    "path": "socket.io",
    # None: decided by the app's session interface (see bridge.py); True: a per-connection
    # copy of the session; False: the session interface's own (shared with HTTP)
    "manage_session": None,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlaskSettings:
    """What ``init_app`` read for one application."""

    server: ServerOptions
    path: str = "socket.io"
    manage_session: bool | None = None


def config_keys() -> list[str]:
    """Every ``SOCKETIO_*`` key the plugin understands (server options first)."""
    names = ServerOptions.option_names() + list(PLUGIN_DEFAULTS)
    return [PREFIX + name.upper() for name in names]


def check_option_names(options: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` naming unknown keyword options."""
    known = set(ServerOptions.option_names()) | set(PLUGIN_DEFAULTS)
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown SocketIO option(s): {', '.join(unknown)}")


def read_settings(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> FlaskSettings:
    """Validated settings from ``app.config`` and keyword ``overrides`` (which win)."""
    check_option_names(overrides)
    by_key = {key: key[len(PREFIX):].lower() for key in config_keys()}
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        name = by_key.get(key)
        if name is None:
            raise ConfigurationError(
                f"app.config[{key!r}] is not a Socket.IO setting (known: "
                f"{', '.join(config_keys())})")
        values[name] = value
        source[name] = f"app.config[{key!r}]"
    for name, value in overrides.items():
        values[name] = value
        source[name] = f"SocketIO({name}=...)"

    plugin = {name: values.pop(name, default) for name, default in PLUGIN_DEFAULTS.items()}
    if not isinstance(plugin["path"], str) or not plugin["path"].strip("/"):
        raise ConfigurationError(f"{source.get('path', 'path')}: path must be a non-empty "
                                 f"string such as 'socket.io'")
    if plugin["manage_session"] not in (None, True, False):
        raise ConfigurationError(f"{source['manage_session']}: manage_session must be "
                                 "None, True or False")
    mode = values.get("async_mode")
    if mode is None:
        values["async_mode"] = default_async_mode()
    elif mode not in ASYNC_MODES_SYNC:
        raise ConfigurationError(f"{source['async_mode']}: async_mode must be one of "
                                 f"{ASYNC_MODES_SYNC} for Flask (a WSGI host), got {mode!r}")
    try:
        server = ServerOptions.from_kwargs(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{_culprit(str(exc), source)}: {exc}") from None
    return FlaskSettings(server=server, path=plugin["path"].strip("/"),
                         manage_session=plugin["manage_session"])


def _culprit(message: str, source: Mapping[str, str]) -> str:
    """Where the option a validation message names was set (its config key or keyword)."""
    matches = [name for name in source if message.startswith(name)]
    if not matches:
        return "Socket.IO settings"
    return source[max(matches, key=len)]


def default_async_mode() -> str:
    """``threading``, unless the process was monkey-patched by eventlet or gevent.

    We never pick a green-thread mode just because its package is installed: it only
    works when the standard library was patched before anything else was imported, which
    is a decision of the program, visible here.
    """
    if _patched("eventlet"):
        return "eventlet"
    if _patched("gevent"):
        return "gevent"
    return "threading"


def _patched(library: str) -> bool:
    if library not in sys.modules:  # never import it just to ask
        return False
    try:
        if library == "eventlet":
            from eventlet import patcher

            return bool(patcher.is_monkey_patched("socket"))
        from gevent import monkey

        return bool(monkey.is_module_patched("socket"))
    except Exception:  # pragma: no cover - a broken install is not patched
        return False
