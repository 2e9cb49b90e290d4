"""FastAPI integration: ``SocketIORouter``, dependencies, validation, AsyncAPI, testing."""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sio_integrations.fastapi needs FastAPI: pip install 'sio-integrations[fastapi]'"
    ) from exc

from .config import server_options
from .dependencies import (
    SocketAuth,
    SocketHandshake,
    SocketID,
    SocketNamespace,
    get_auth,
    get_handshake,
    get_namespace,
    get_sid,
)
from .handlers import ERROR_EVENT
from .router import SocketIORouter

__all__ = [
    "ERROR_EVENT",
    "SocketAuth",
    "SocketHandshake",
    "SocketID",
    "SocketIORouter",
    "SocketNamespace",
    "get_auth",
    "get_handshake",
    "get_namespace",
    "get_sid",
    "server_options",
]
