"""Engine.IO v4 packet and payload codec (sans-IO).

A *frame* is one encoded packet as it travels on a websocket: text packets are ``str``
(type digit + data), binary message packets are raw ``bytes``. A *payload* is the body of a
long-polling request or response: frames joined by ``\\x1e``, binary frames as ``b`` +
base64.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
from collections.abc import Iterable

from ...errors import RemoteProtocolError

#: record separator between the packets of a long-polling payload
SEPARATOR = "\x1e"


class PacketType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Packet:
    """One decoded Engine.IO packet; ``data`` is ``bytes`` only for binary messages."""

    type: PacketType
    data: str | bytes = ""


# Frames the server sends often, built once.
PING_FRAME = "2"
PONG_PROBE_FRAME = "3probe"
NOOP_FRAME = "6"
CLOSE_FRAME = "1"

_TYPES = {str(int(t)): t for t in PacketType}


def encode_frame(packet: Packet) -> str | bytes:
    """Encode one packet as a websocket frame."""
    if isinstance(packet.data, bytes):
        if packet.type != PacketType.MESSAGE:
            raise ValueError("only message packets carry binary data")
        return packet.data
    return f"{int(packet.type)}{packet.data}"


def message_frame(data: str | bytes) -> str | bytes:
    """The websocket frame of a message packet (the hot path: no Packet object)."""
    if isinstance(data, str):
        return "4" + data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"message data must be str or bytes, not {type(data).__name__}")


def base64_frame(data: bytes) -> str:
    """A binary message as text: ``b`` + base64 (polling, and websocket clients that ask
    for it with ``b64=1``, e.g. engine.io-client's ``forceBase64``)."""
    return "b" + base64.b64encode(data).decode("ascii")


def decode_frame(frame: str | bytes) -> Packet:
    """Decode one websocket frame or payload record; raises :class:`RemoteProtocolError`.

    A text frame starting with ``b`` is a base64 binary message (accepted on every
    transport, like the JavaScript server).
    """
    if isinstance(frame, (bytes, bytearray)):
        return Packet(type=PacketType.MESSAGE, data=bytes(frame))
    if not frame:
        raise RemoteProtocolError("empty packet")
    if frame[0] == "b":
        try:
            data = base64.b64decode(frame[1:], validate=True)
        except (binascii.Error, ValueError):
            raise RemoteProtocolError("invalid base64 binary packet") from None
        return Packet(type=PacketType.MESSAGE, data=data)
    ptype = _TYPES.get(frame[0])
    if ptype is None:
        raise RemoteProtocolError(f"unknown packet type {frame[0]!r}")
    return Packet(type=ptype, data=frame[1:])


def encode_payload(frames: Iterable[str | bytes]) -> str:
    """Join frames into a long-polling payload (binary frames become ``b`` + base64)."""
    return SEPARATOR.join(base64_frame(f) if isinstance(f, bytes) else f for f in frames)


def split_payload(body: str, *, max_packets: int = 1000) -> list[str]:
    """The records of a long-polling payload, each still to be decoded with
    :func:`decode_frame` (a record starting with ``4`` is a text message and needs no more
    than dropping that digit); raises :class:`RemoteProtocolError` for an empty payload or
    one of more than ``max_packets`` records."""
    if not body:
        raise RemoteProtocolError("empty payload")
    records = body.split(SEPARATOR, max_packets)
    if len(records) > max_packets:
        raise RemoteProtocolError(f"more than {max_packets} packets in one payload")
    return records


def decode_payload(body: str, *, max_packets: int = 1000) -> list[Packet]:
    """Split a long-polling payload into packets; raises :class:`RemoteProtocolError`."""
    return [decode_frame(record) for record in split_payload(body, max_packets=max_packets)]
