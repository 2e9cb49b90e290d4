"""Socket.IO events: what a connection reports and what it is asked to send.

The same classes travel both ways (a server receives :class:`Connect`, a client sends it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias

__all__ = ["Ack", "Connect", "ConnectError", "Disconnect", "Event", "PlainEvent", "SocketIOEvent"]


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

#: ``(name, args, ack_id)`` of an EVENT on "/": what the receive shortcut returns instead of
#: an :class:`Event` (building a frozen dataclass costs more than decoding the packet)
PlainEvent: TypeAlias = tuple[str, list[Any], "int | None"]


# Fast constructors for the receive path (see ``packets.make_packet`` for why).
_new = object.__new__
_event_ns, _event_name, _event_args, _event_ack_id = (
    getattr(Event, name).__set__ for name in ("namespace", "name", "args", "ack_id")
)
_ack_ns, _ack_id, _ack_args = (
    getattr(Ack, name).__set__ for name in ("namespace", "ack_id", "args")
)


def make_event(namespace: str, name: str, args: list[Any], ack_id: int | None) -> Event:
    """``Event(...)`` without the frozen ``__init__``'s per-field ``object.__setattr__``."""
    event = _new(Event)
    _event_ns(event, namespace)
    _event_name(event, name)
    _event_args(event, args)
    _event_ack_id(event, ack_id)
    return event


def make_ack(namespace: str, ack_id: int, args: list[Any]) -> Ack:
    """``Ack(...)``, built the fast way (see :func:`make_event`)."""
    ack = _new(Ack)
    _ack_ns(ack, namespace)
    _ack_id(ack, ack_id)
    _ack_args(ack, args)
    return ack
