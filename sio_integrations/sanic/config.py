"""Sanic settings -> the one :class:`~sio_integrations.options.ServerOptions` object.

Server options are read from ``app.config.SOCKETIO_<OPTION>`` (so ``SANIC_SOCKETIO_<OPTION>``
environment variables work too); the keys are derived from
:meth:`ServerOptions.option_names`, so a new core option appears here without a change.
Keywords given to ``SocketIO(app, ...)`` win over the configuration.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ..options import ServerOptions

#: the engine mode of a Sanic host (never auto-detected: see docs/engine.md)
ASYNC_MODE = "sanic"
#: prefix of the server options in ``app.config``
PREFIX = "SOCKETIO_"
#: settings of the plugin itself (not server options), with their defaults
PLUGIN_SETTINGS: dict[str, Any] = {"PATH": "/socket.io"}


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(ServerOptions)


def _accepts(hint: Any, kind: type) -> bool:
    """Whether the type ``hint`` admits values of ``kind`` (``list[str] | None`` admits list)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        return any(_accepts(arg, kind) for arg in typing.get_args(hint))
    target = origin or hint
    return isinstance(target, type) and issubclass(kind, target)


def coerce(name: str, value: Any, hint: Any) -> Any:
    """Turn a text value (an environment variable) into the option's type where unambiguous.

    ``"polling,websocket"`` becomes a list for list options; ``"10"`` a number for numeric
    options; Sanic's ``0``/``1`` a bool for boolean options. Anything else is left for the
    options' own validation, which names the setting.
    """
    if isinstance(value, str) and hint is not Any:
        if _accepts(hint, list) and ("," in value or not _accepts(hint, str)):
            return [part.strip() for part in value.split(",") if part.strip()]
        if hint is int or hint is float:
            try:
                return hint(value)
            except ValueError:
                return value
    if hint is bool and value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    return value


def config_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``SOCKETIO_*`` server options of a Sanic config, keyed by option name."""
    names = {name.upper(): name for name in ServerOptions.option_names()}
    hints = _hints()
    found: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        bare = key[len(PREFIX):]
        if bare in PLUGIN_SETTINGS:
            continue
        name = names.get(bare.upper())
        if name is None:
            raise ConfigurationError(f"unknown setting {key!r} in app.config")
        found[key] = coerce(name, value, hints.get(name, Any))
    return found


def plugin_setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting of the plugin itself (``SOCKETIO_PATH``), or its default."""
    return config.get(PREFIX + name, PLUGIN_SETTINGS[name])


def server_options(config: Mapping[str, Any] | None = None, **kwargs: Any) -> ServerOptions:
    """Validated server options from ``app.config`` and keyword overrides.

    Unknown ``SOCKETIO_*`` keys and invalid values raise :class:`ConfigurationError`
    naming the key; unknown keywords raise ``TypeError``. ``async_mode`` is always
    ``"sanic"``.
    """
    from_config = config_options(config or {})
    names = {name.upper(): name for name in ServerOptions.option_names()}
    # keywords win over the configuration
    mapping = {k: v for k, v in from_config.items() if names[k[len(PREFIX):].upper()] not in kwargs}
    # the configuration alone first, so that an error names its key
    ServerOptions.from_mapping(mapping, prefix=PREFIX)
    merged = {names[k[len(PREFIX):].upper()]: v for k, v in mapping.items()}
    merged.update(kwargs)
    return ServerOptions.for_host("Sanic", ASYNC_MODE, **merged)
