"""Socket.IO events: what a connection reports and what it is asked to send.

The same classes travel both ways (a server receives :class:`Connect`, a client sends it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias

__all__ = ["Ack", "Connect", "ConnectError", "Disconnect", "Event", "SocketIOEvent"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Connect:
    """Join a namespace (client to server: ``data`` is the auth payload) or accept the
    join (server to client: ``data`` is ``{"sid": ...}``)."""

    namespace: str = "/"
    data: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ConnectError:
    """The server refused to join a namespace; ``data`` is usually
    ``{"message": ..., "data": ...}`` (old servers send a string)."""

    namespace: str = "/"
    data: Any


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Disconnect:
    """Leave a namespace (either side)."""

    namespace: str = "/"


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """An application event; ``ack_id`` is set when the sender wants an acknowledgement."""

    namespace: str = "/"
    name: str
    args: list[Any] | tuple[Any, ...] = ()
    ack_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Ack:
    """The acknowledgement of the event sent with id ``ack_id``."""

    namespace: str = "/"
    ack_id: int
    args: list[Any] | tuple[Any, ...] = ()


#: any of the events above
SocketIOEvent: TypeAlias = Connect | ConnectError | Disconnect | Event | Ack
