"""FastAPI integration: ``SocketIORouter``, dependencies, validation, AsyncAPI, testing."""

from __future__ import annotations

from .config import server_options
from .dependencies import SocketAuth, SocketID, SocketNamespace, get_auth, get_namespace, get_sid
from .handlers import ERROR_EVENT
from .router import SocketIORouter

__all__ = [
    "ERROR_EVENT",
    "SocketAuth",
    "SocketID",
    "SocketIORouter",
    "SocketNamespace",
    "get_auth",
    "get_namespace",
    "get_sid",
    "server_options",
]
