"""python-socketio compatible exception names (``socketio.exceptions``)."""

from .errors import AckTimeoutError as TimeoutError  # noqa: A004
from .errors import (
    BadNamespaceError,
    ConnectionError,  # noqa: A004
    ConnectionRefusedError,  # noqa: A004
    DisconnectedError,
    SocketIOError,
)

__all__ = [
    "BadNamespaceError",
    "ConnectionError",
    "ConnectionRefusedError",
    "DisconnectedError",
    "SocketIOError",
    "TimeoutError",
]
