"""Tornado integration: ``SocketIOHandler`` for the ``Application``, settings from
``Application.settings``, ``get_current_user()`` and signed cookies in the handshake."""

from __future__ import annotations

try:
    import tornado  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sio_integrations.tornado needs Tornado: pip install 'sio-integrations[tornado]'"
    ) from exc

from .bridge import get_handshake, handshake_from_handler
from .config import server_options
from .extension import SocketIO
from .handlers import SocketIOHandler

__all__ = ["SocketIO", "SocketIOHandler", "get_handshake", "handshake_from_handler",
           "server_options"]
