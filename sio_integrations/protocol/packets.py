"""Socket.IO v5 packets: the packet model, the serializer interface and the default codec.

The default codec is wire-compatible with the JavaScript ``socket.io-parser`` 4.2.x::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]

followed, for BINARY_EVENT / BINARY_ACK, by one binary frame per attachment. Every binary
value (``bytes``, ``bytearray``, ``memoryview``) found anywhere in the data is replaced by
``{"_placeholder": true, "num": N}`` in the JSON and sent as attachment N.
"""

from __future__ import annotations

import dataclasses
import enum
import json as _stdlib_json
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigurationError, LocalProtocolError, RemoteProtocolError

__all__ = [
    "DEFAULT_MAX_ATTACHMENTS",
    "DEFAULT_MAX_BINARY_BYTES",
    "RESERVED_EVENTS",
    "Decoder",
    "Packet",
    "PacketType",
    "Serializer",
    "check_packet",
    "get_serializer",
]

#: the JS parser's default limit on attachments per packet
DEFAULT_MAX_ATTACHMENTS = 10
#: most bytes of binary attachments (summed) accepted in one packet
DEFAULT_MAX_BINARY_BYTES = 10_000_000

#: Event names that have a meaning of their own in every Socket.IO implementation. The JS
#: parser refuses them in both directions, so a peer sending one is misbehaving and we
#: never send one (a JS client would drop the whole connection on it).
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class PacketType(enum.IntEnum):
    """Socket.IO v5 packet types."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Packet:
    """One Socket.IO packet.

    Decoders never return the BINARY_* types: like the JS parser they report a binary
    event/ack as EVENT/ACK whose data holds ``bytes``. Encoders pick the binary type
    themselves when the data holds binary values (either type is accepted on input).
    """

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None


def _setters(cls: type, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(cls, name).__set__ for name in names)


_new = object.__new__
_set_type, _set_namespace, _set_data, _set_id = _setters(Packet, "type", "namespace", "data", "id")


def make_packet(ptype: PacketType, namespace: str, data: Any, ack_id: int | None) -> Packet:
    """``Packet(...)`` for decoders, without validation and 2-3x faster.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` once per field;
    setting the slots directly builds the very same object for a fraction of the cost,
    which matters on the per-message path.
    """
    packet = _new(Packet)
    _set_type(packet, ptype)
    _set_namespace(packet, namespace)
    _set_data(packet, data)
    _set_id(packet, ack_id)
    return packet


@runtime_checkable
class Decoder(Protocol):
    """Per-connection packet decoder (it holds a half-received binary packet)."""

    #: ``now`` given to :meth:`feed` when a binary packet started waiting for attachments
    pending_since: float | None

    def feed(self, data: str | bytes, now: float = 0.0) -> Packet | None:
        """Decode one Engine.IO message; None while binary attachments are awaited.

        Raises :class:`RemoteProtocolError` on anything invalid.
        """
        ...

    def reset(self) -> None:
        """Forget a half-received packet."""
        ...


@runtime_checkable
class Serializer(Protocol):
    """Encodes packets to Engine.IO messages and makes per-connection decoders."""

    def encode(self, packet: Packet) -> list[str | bytes]:
        """The Engine.IO messages for ``packet`` (main frame first)."""
        ...

    def decoder(self) -> Decoder:
        """A new decoder for one connection."""
        ...

    def encode_event(
        self, namespace: str, name: str, args: Any, ack_id: int | None = None
    ) -> list[str | bytes]:
        """Fast path for an EVENT packet (``args`` is a list or tuple)."""
        ...

    def encode_ack(self, namespace: str, ack_id: int, args: Any) -> list[str | bytes]:
        """Fast path for an ACK packet (``args`` is a list or tuple)."""
        ...


def data_error(ptype: int, data: Any, ack_id: int | None) -> str | None:
    """Why ``data``/``ack_id`` cannot travel in a packet of type ``ptype`` (None if they can).

    ``ptype`` must be CONNECT..CONNECT_ERROR (binary types are normalised by the caller).
    """
    if ptype == 2:
        if type(data) is not list or not data:
            return "EVENT data must be a non-empty array"
        name = data[0]
        if type(name) is not str:
            return "event name must be a string"
        if name in RESERVED_EVENTS:
            return f"reserved event name {name!r}"
        return None
    if ptype == 3:
        if type(data) is not list:
            return "ACK data must be an array"
        if ack_id is None:
            return "ACK without an id"
        return None
    if ptype == 0:
        if data is not None and type(data) is not dict:
            return "CONNECT data must be an object"
        return None
    if ptype == 4:
        if type(data) is not dict and type(data) is not str:
            return "CONNECT_ERROR data must be an object or a string"
        return None
    if ptype == 1:
        if data is not None:
            return "DISCONNECT carries no data"
        return None
    return f"unknown packet type {ptype!r}"


def check_packet(packet: Packet) -> int:
    """Validate a packet we are about to send; return its non-binary type (0..4).

    Raises :class:`LocalProtocolError` naming the problem.
    """
    ptype = packet.type
    if type(ptype) is not PacketType:
        try:
            ptype = PacketType(ptype)
        except ValueError:
            raise LocalProtocolError(f"unknown packet type {ptype!r}") from None
    if ptype >= 5:
        ptype = PacketType(ptype - 3)
    namespace = packet.namespace
    if type(namespace) is not str or not namespace.startswith("/"):
        raise LocalProtocolError(f"namespace must be a string starting with '/': {namespace!r}")
    ack_id = packet.id
    if ack_id is not None and (type(ack_id) is not int or ack_id < 0):
        raise LocalProtocolError(f"packet id must be a non-negative int: {ack_id!r}")
    error = data_error(ptype, packet.data, ack_id)
    if error is not None:
        raise LocalProtocolError(error)
    return int(ptype)


def remote_packet(ptype: PacketType, namespace: Any, data: Any, ack_id: Any) -> Packet:
    """Validate a decoded packet (peer input) and build it; raise RemoteProtocolError."""
    if type(namespace) is not str or not namespace.startswith("/"):
        raise RemoteProtocolError("invalid namespace")
    if ack_id is not None and (type(ack_id) is not int or ack_id < 0):
        raise RemoteProtocolError("invalid packet id")
    error = data_error(ptype, data, ack_id)
    if error is not None:
        raise RemoteProtocolError(error)
    return make_packet(ptype, namespace, data, ack_id)


class _PacketSerializer:
    """Adds the fast-path methods to a custom serializer that only has encode/decoder."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def encode(self, packet: Packet) -> list[str | bytes]:
        return list(self.inner.encode(packet))

    def decoder(self) -> Decoder:
        decoder: Decoder = self.inner.decoder()
        return decoder

    def encode_event(
        self, namespace: str, name: str, args: Any, ack_id: int | None = None
    ) -> list[str | bytes]:
        packet = Packet(type=PacketType.EVENT, namespace=namespace, data=[name, *args], id=ack_id)
        return self.encode(packet)

    def encode_ack(self, namespace: str, ack_id: int, args: Any) -> list[str | bytes]:
        return self.encode(
            Packet(type=PacketType.ACK, namespace=namespace, data=list(args), id=ack_id)
        )


def get_serializer(
    spec: Any = "default",
    json: Any = None,
    *,
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    max_binary_bytes: int = DEFAULT_MAX_BINARY_BYTES,
) -> Serializer:
    """The serializer for the ``serializer`` option.

    ``"default"``/``"json"``: :class:`JsonSerializer` (using the ``json`` module if given);
    ``"msgpack"``: :class:`MsgpackSerializer`; an object with ``encode`` and ``decoder``
    is used as is (wrapped to gain ``encode_event``/``encode_ack`` if it lacks them).
    """
    if isinstance(spec, str):
        if spec in ("default", "json"):
            from .jsonparser import JsonSerializer

            return JsonSerializer(
                json, max_attachments=max_attachments, max_binary_bytes=max_binary_bytes
            )
        if spec == "msgpack":
            from .msgpack import MsgpackSerializer

            return MsgpackSerializer(max_binary_bytes=max_binary_bytes)
    elif callable(getattr(spec, "encode", None)) and callable(getattr(spec, "decoder", None)):
        if callable(getattr(spec, "encode_event", None)) and callable(
            getattr(spec, "encode_ack", None)
        ):
            serializer: Serializer = spec
            return serializer
        return _PacketSerializer(spec)
    raise ConfigurationError(
        f"serializer must be 'default', 'msgpack' or an object with encode() and decoder(), "
        f"got {spec!r}"
    )


def check_json_module(module: Any) -> Any:
    """Return ``module`` (or the stdlib json) after checking it has dumps/loads."""
    if module is None:
        return _stdlib_json
    if not (callable(getattr(module, "dumps", None)) and callable(getattr(module, "loads", None))):
        raise ConfigurationError(f"json must be a module with dumps() and loads(), got {module!r}")
    return module
