"""FastAPI settings -> the one :class:`~sio_integrations.options.ServerOptions` object.

Every server option is accepted by name (``SocketIORouter(ping_interval=10, ...)``), so a new
option of the core appears here without a change. The host pins what it must.
"""

from __future__ import annotations

from typing import Any

from ..options import ServerOptions

#: the engine mode of an ASGI host (never auto-detected: see docs/engine.md)
ASYNC_MODE = "asgi"


def server_options(**kwargs: Any) -> ServerOptions:
    """Validated server options for a FastAPI application.

    Unknown names raise ``TypeError``; invalid values raise :class:`ConfigurationError`.
    ``async_mode`` is always ``"asgi"``.
    """
    return ServerOptions.for_host("FastAPI", ASYNC_MODE, **kwargs)
