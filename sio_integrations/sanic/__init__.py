"""Sanic integration: the ``SocketIO`` extension, settings from ``app.config``, the
handshake of ``request.ctx``."""

from __future__ import annotations

try:
    import sanic  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sio_integrations.sanic needs Sanic: pip install 'sio-integrations[sanic]'"
    ) from exc

from .bridge import get_handshake, handshake_from_request
from .config import server_options
from .extension import SocketIO

__all__ = ["SocketIO", "get_handshake", "handshake_from_request", "server_options"]
