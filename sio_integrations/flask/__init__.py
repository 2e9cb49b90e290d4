"""Flask integration: the ``SocketIO`` extension, context functions, namespaces, testing."""

from __future__ import annotations

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sio_integrations.flask needs Flask: pip install 'sio-integrations[flask]'"
    ) from exc

from ..errors import ConnectionRefusedError  # noqa: A004
from .auth import authenticated_only
from .config import config_keys
from .context import (
    call,
    close_room,
    current_handshake,
    current_namespace,
    current_sid,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)
from .extension import SocketIO
from .namespace import Namespace
from .testing import SocketIOTestClient

__all__ = [
    "ConnectionRefusedError",
    "Namespace",
    "SocketIO",
    "SocketIOTestClient",
    "authenticated_only",
    "call",
    "close_room",
    "config_keys",
    "current_handshake",
    "current_namespace",
    "current_sid",
    "disconnect",
    "emit",
    "join_room",
    "leave_room",
    "rooms",
    "send",
]
