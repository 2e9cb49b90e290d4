"""FastAPI settings -> the one :class:`~sio_integrations.options.ServerOptions` object.

Every server option is accepted by name (``SocketIORouter(ping_interval=10, ...)``), so a new
option of the core appears here without a change. The host pins what it must.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..options import ServerOptions

#: the engine mode of an ASGI host (never auto-detected: see docs/engine.md)
ASYNC_MODE = "asgi"


def server_options(**kwargs: Any) -> ServerOptions:
    """Validated server options for a FastAPI application.

    Unknown names raise ``TypeError``; invalid values raise :class:`ConfigurationError`.
    ``async_mode`` is always ``"asgi"``.
    """
    mode = kwargs.pop("async_mode", None)
    if mode not in (None, ASYNC_MODE):
        raise ConfigurationError(f"async_mode must be {ASYNC_MODE!r} under FastAPI, got {mode!r}")
    return ServerOptions.from_kwargs(async_mode=ASYNC_MODE, **kwargs)


def server_kwargs(options: ServerOptions) -> dict[str, Any]:
    """The constructor keywords of ``AsyncServer`` for ``options``."""
    kwargs = {name: getattr(options, name) for name in ServerOptions.option_names()}
    grace = kwargs.pop("ping_interval_grace")
    if grace:
        kwargs["ping_interval"] = (kwargs["ping_interval"], grace)
    return kwargs
