"""The msgpack codec (``serializer="msgpack"``), wire-compatible with the JavaScript
``socket.io-msgpack-parser`` 3.x.

Each packet is one binary Engine.IO message: the msgpack encoding of the map
``{"type": 0..4, "data": ..., "nsp": "/...", "id": n}`` (``data`` and ``id`` left out when
absent). Binary values travel natively as msgpack ``bin``, so there are no attachments and
no BINARY_* packet types.

The JS side encodes with ``notepack.io``, which writes ``undefined`` as the extension
``fixext 1`` type 0 (e.g. the ``pid`` of a CONNECT reply) and typed arrays that are not a
Node ``Buffer`` as extension type 0 too: by default the first decodes as ``None``, the second
as ``bytes``. (A notepack ``Date`` also uses type 0; it arrives as its 8 raw bytes.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError, LocalProtocolError, RemoteProtocolError
from .limits import MAX_NESTING, too_deep
from .packets import (
    DEFAULT_MAX_BINARY_BYTES,
    RESERVED_EVENTS,
    Packet,
    PacketType,
    check_packet,
    remote_packet,
)

try:
    import msgpack as _msgpack
except ImportError:  # pragma: no cover - exercised only without the extra installed
    _msgpack = None

__all__ = ["MsgpackDecoder", "MsgpackSerializer", "notepack_ext_hook"]

_TYPES = {int(t): t for t in PacketType if t <= PacketType.CONNECT_ERROR}


def notepack_ext_hook(code: int, data: bytes) -> Any:
    """Decode notepack.io's extension type 0 (``undefined`` and typed arrays)."""
    if code == 0:
        return None if data == b"\x00" else data
    assert _msgpack is not None
    return _msgpack.ExtType(code, data)


class MsgpackSerializer:
    """The ``msgpack`` serializer.

    ``default`` is called for objects msgpack cannot encode (as in ``msgpack.packb``);
    ``ext_hook`` decodes extension types (defaults to :func:`notepack_ext_hook`).
    """

    def __init__(
        self,
        *,
        max_binary_bytes: int = DEFAULT_MAX_BINARY_BYTES,
        default: Callable[[Any], Any] | None = None,
        ext_hook: Callable[[int, bytes], Any] | None = None,
    ) -> None:
        if _msgpack is None:
            raise ConfigurationError(
                "serializer='msgpack' needs the msgpack package: "
                "pip install sio-integrations[msgpack]"
            )
        if type(max_binary_bytes) is not int or max_binary_bytes < 0:
            raise ConfigurationError("max_binary_bytes must be an int >= 0")
        self.max_binary_bytes = max_binary_bytes
        self._packb = _msgpack.packb
        self._default = default
        self._ext_hook = ext_hook or notepack_ext_hook

    def decoder(self) -> MsgpackDecoder:
        """A decoder for one connection."""
        return MsgpackDecoder(self._ext_hook, self.max_binary_bytes)

    def _pack(self, obj: dict[str, Any]) -> list[str | bytes]:
        try:
            frame: bytes = self._packb(obj, default=self._default)
        except (ValueError, OverflowError) as exc:
            raise LocalProtocolError(f"cannot encode packet: {exc}") from None
        return [frame]

    def encode_event(
        self, namespace: str, name: str, args: Any, ack_id: int | None = None
    ) -> list[str | bytes]:
        """The frame of an EVENT packet; ``args`` is a list or tuple."""
        if type(name) is not str or name in RESERVED_EVENTS:
            raise LocalProtocolError(f"event name must be a non-reserved string, got {name!r}")
        obj: dict[str, Any] = {"type": 2, "data": [name, *args], "nsp": namespace}
        if ack_id is not None:
            obj["id"] = ack_id
        return self._pack(obj)

    def encode_ack(self, namespace: str, ack_id: int, args: Any) -> list[str | bytes]:
        """The frame of an ACK packet; ``args`` is a list or tuple."""
        return self._pack({"type": 3, "data": list(args), "nsp": namespace, "id": ack_id})

    def encode(self, packet: Packet) -> list[str | bytes]:
        """The frame of any packet (validated; raises :class:`LocalProtocolError`)."""
        ptype = check_packet(packet)
        obj: dict[str, Any] = {"type": ptype}
        if packet.data is not None:
            obj["data"] = packet.data
        obj["nsp"] = packet.namespace
        if packet.id is not None:
            obj["id"] = packet.id
        return self._pack(obj)


class MsgpackDecoder:
    """Decodes the frames of one connection (see :class:`~.packets.Decoder`)."""

    __slots__ = ("_ext_hook", "max_binary_bytes", "pending_since")

    def __init__(self, ext_hook: Callable[[int, bytes], Any], max_binary_bytes: int) -> None:
        self._ext_hook = ext_hook
        self.max_binary_bytes = max_binary_bytes
        #: always None: msgpack packets never span several messages
        self.pending_since: float | None = None

    def reset(self) -> None:
        """Nothing to forget (kept for the Decoder interface)."""

    def feed(self, data: str | bytes, now: float = 0.0) -> Packet | None:
        """Decode one Engine.IO message (always a whole packet)."""
        if type(data) is str:
            raise RemoteProtocolError("text frame on a msgpack connection")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LocalProtocolError(f"feed() takes str or bytes, got {type(data).__name__}")
        if len(data) > self.max_binary_bytes:
            raise RemoteProtocolError("packet too large")
        assert _msgpack is not None
        try:
            obj = _msgpack.unpackb(data, ext_hook=self._ext_hook, raw=False)
        except Exception:  # FormatError, ExtraData, StackError, UnicodeDecodeError, ...
            raise RemoteProtocolError("invalid msgpack payload") from None
        if len(data) > MAX_NESTING and too_deep(obj):  # each level takes at least a byte
            raise RemoteProtocolError(f"payload nested deeper than {MAX_NESTING}")
        if type(obj) is not dict:
            raise RemoteProtocolError("msgpack packet is not a map")
        raw_type = obj.get("type")
        ptype = _TYPES.get(raw_type) if type(raw_type) is int else None
        if ptype is None:
            raise RemoteProtocolError(f"unknown packet type {raw_type!r}")
        return remote_packet(ptype, obj.get("nsp"), obj.get("data"), obj.get("id"))
