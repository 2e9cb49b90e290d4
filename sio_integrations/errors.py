"""Error classes: who is at fault, and what the runtime should do about it."""

from __future__ import annotations

import builtins
from typing import Any


class SocketIOError(Exception):
    """Base class of every error raised by sio_integrations."""


class LocalProtocolError(SocketIOError):
    """Our side used the API in a way the protocol does not allow."""


class RemoteProtocolError(SocketIOError):
    """The peer sent something the protocol does not allow.

    ``reason`` is a short, log-friendly description. ``fatal`` tells the runtime to close
    the whole connection (True) or only to drop the offending packet (False).
    """

    def __init__(self, reason: str, *, fatal: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal


class ConnectionRefusedError(SocketIOError, builtins.ConnectionRefusedError):  # noqa: A001
    """Raise from a ``connect`` handler to refuse the connection.

    The client receives a CONNECT_ERROR whose data is ``{"message": message, "data": data}``.
    Also an instance of the builtin ``ConnectionRefusedError`` (python-socketio accepts both).
    """

    def __init__(self, *args: Any) -> None:
        message = str(args[0]) if args else "Connection rejected by server"
        data: Any = None
        if len(args) == 2:
            data = args[1]
        elif len(args) > 2:
            data = list(args[1:])
        super().__init__(message)
        self.message = message
        self.data = data

    @property
    def error_args(self) -> dict[str, Any]:
        """The CONNECT_ERROR payload."""
        payload: dict[str, Any] = {"message": self.message}
        if self.data is not None:
            payload["data"] = self.data
        return payload


class AckTimeoutError(SocketIOError, builtins.TimeoutError):
    """An acknowledgement (``call``) did not arrive in time."""


class ConnectionError(SocketIOError, builtins.ConnectionError):  # noqa: A001
    """A client could not connect (python-socketio compatible name)."""


class BadNamespaceError(SocketIOError):
    """A namespace is not connected or does not exist."""


class DisconnectedError(SocketIOError):
    """The connection was closed while an operation was waiting."""


class ConfigurationError(SocketIOError, ValueError):
    """A setting has an invalid value; the message names the setting."""


class MessageQueueError(SocketIOError, builtins.ConnectionError):
    """A message could not be handed to the message queue (the broker is unreachable, or
    the outbox holding messages during an outage is full). Nothing was sent to the other
    nodes of the cluster; sockets of this process may already have received it."""


class ClusterTimeoutError(AckTimeoutError):
    """A request to the other nodes of a cluster did not complete in time.

    ``partial`` holds the answers that did arrive (for ``fetch_sockets``, the sockets of
    the nodes that answered; for ``server_call``, their responses).
    """

    def __init__(self, message: str, partial: list[object] | None = None) -> None:
        super().__init__(message)
        self.partial: list[object] = partial or []
