"""Sans-IO Socket.IO v5: frames in, events out. No I/O, no asyncio, no threading here."""

from __future__ import annotations

from .acks import PendingAcks
from .connection import ClientConnection, ServerConnection
from .events import Ack, Connect, ConnectError, Disconnect, Event, SocketIOEvent
from .jsonparser import JsonDecoder, JsonSerializer
from .packets import (
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_BINARY_BYTES,
    RESERVED_EVENTS,
    Decoder,
    Packet,
    PacketType,
    Serializer,
    get_serializer,
)
from .rooms import RoomRegistry
from .states import TRANSITIONS, NamespaceState, Role

__all__ = [
    "DEFAULT_MAX_ATTACHMENTS",
    "DEFAULT_MAX_BINARY_BYTES",
    "RESERVED_EVENTS",
    "TRANSITIONS",
    "Ack",
    "ClientConnection",
    "Connect",
    "ConnectError",
    "Decoder",
    "Disconnect",
    "Event",
    "JsonDecoder",
    "JsonSerializer",
    "NamespaceState",
    "Packet",
    "PacketType",
    "PendingAcks",
    "Role",
    "RoomRegistry",
    "Serializer",
    "ServerConnection",
    "SocketIOEvent",
    "get_serializer",
]
