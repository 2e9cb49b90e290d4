"""RFC 6455 framing for the server side of a websocket, without I/O.

Used by the direct websocket path (``runtime/asgi_direct.py``): once a host has completed
the websocket handshake, we read and write frames on its transport ourselves instead of
going through the host's per-message layers. Only what a server needs: client frames are
masked, fragmented messages are reassembled up to a size limit, and the one extension is
permessage-deflate (given an :class:`~.wsdeflate.Inflater`, compressed messages are
inflated; the outbound side is :class:`~.wsdeflate.Deflater`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from ...errors import RemoteProtocolError

if TYPE_CHECKING:
    from .wsdeflate import Inflater

_c_apply_mask: Callable[[Any, Any], bytes] | None
try:  # a C implementation ships with the ``websockets`` package most ASGI servers use
    from websockets.speedups import apply_mask as _c_apply_mask
except ImportError:  # pragma: no cover - depends on the environment
    _c_apply_mask = None

__all__ = [
    "CLOSE_NORMAL",
    "Close",
    "FrameReader",
    "Ping",
    "WebSocketError",
    "binary_header",
    "encode_binary",
    "encode_close",
    "encode_pong",
    "encode_text",
]

OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA

CLOSE_NORMAL: Final = 1000
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_INVALID_DATA: Final = 1007
CLOSE_TOO_BIG: Final = 1009

# header bytes of unfragmented server frames with a 7-bit length, built once
_TEXT_HEADERS: Final = tuple(bytes((0x81, n)) for n in range(126))
_BINARY_HEADERS: Final = tuple(bytes((0x82, n)) for n in range(126))


class WebSocketError(RemoteProtocolError):
    """The client broke RFC 6455; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:  # noqa: D107
        super().__init__(reason)
        self.code = code


class Ping:
    """A ping from the client; answer with :func:`encode_pong` of ``payload``."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:  # noqa: D107
        self.payload = payload


class Close:
    """The client's close frame (``code`` 1005 when it carried none)."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:  # noqa: D107
        self.code = code
        self.reason = reason


def _header(first: int, length: int) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def encode_text(text: str) -> bytes:
    """One unfragmented text frame."""
    data = text.encode()
    n = len(data)
    if n < 126:
        return _TEXT_HEADERS[n] + data
    return _header(0x81, n) + data


def binary_header(length: int) -> bytes:
    """The header of an unfragmented binary frame of ``length`` bytes (to write the
    payload after it without copying it into a frame)."""
    return _header(0x82, length)


def encode_binary(data: bytes | bytearray | memoryview) -> bytes:
    """One unfragmented binary frame."""
    n = len(data)
    if n < 126:
        return _BINARY_HEADERS[n] + bytes(data)
    return _header(0x82, n) + bytes(data)


def encode_pong(payload: bytes) -> bytes:
    return _header(0x80 | OP_PONG, len(payload)) + payload


def encode_close(code: int = CLOSE_NORMAL, reason: str = "") -> bytes:
    body = code.to_bytes(2, "big") + reason.encode()[:123]
    return _header(0x80 | OP_CLOSE, len(body)) + body


def _py_apply_mask(data: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    n = len(data)
    if not n:
        return b""
    key = (bytes(mask) * (n // 4 + 1))[:n]
    value = int.from_bytes(data, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(n, "little")


apply_mask: Callable[[Any, Any], bytes] = (
    _py_apply_mask if _c_apply_mask is None else _c_apply_mask)

_VALID_CLOSE_CODES: Final = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


class FrameReader:
    """Turns the bytes a client sends into messages (``str``/``bytes``), :class:`Ping` and
    :class:`Close`; raises :class:`WebSocketError` on a protocol violation.

    ``max_size`` bounds one message (a fragmented one as a whole); a frame announcing more
    is refused from its header, before its payload is buffered. With an ``inflater``
    (permessage-deflate negotiated) a message with RSV1 set is inflated, to ``max_size``
    at most as well.
    """

    __slots__ = ("_buffer", "_have", "_need", "_max_size", "_fragments", "_fragment_op",
                 "_fragment_size", "_inflater", "_fragment_compressed")

    def __init__(self, max_size: int, inflater: Inflater | None = None) -> None:  # noqa: D107
        #: the bytes of an incomplete frame, as received (joined once it is complete)
        self._buffer: list[bytes] = []
        self._have = 0
        #: how many buffered bytes that frame needs (0: its header is incomplete)
        self._need = 0
        self._max_size = max_size
        self._fragments: list[bytes] = []
        self._fragment_op = 0
        self._fragment_size = 0
        self._inflater = inflater
        self._fragment_compressed = False

    def feed_text(self, data: bytes) -> str | None:
        """The common case, quickly: ``data`` is exactly one whole text frame and nothing
        is pending. Returns its text, or None (then call :meth:`feed` with ``data``)."""
        if self._buffer or self._fragment_op or len(data) < 6:
            return None
        first = data[0]
        if first != 0x81 and (first != 0xC1 or self._inflater is None):
            return None  # 0xC1: compressed (browsers compress every message)
        length = data[1] - 0x80  # the mask bit must be set
        if 0 <= length < 126:
            start = 2
        elif length == 126 and len(data) >= 8:
            length = int.from_bytes(data[2:4], "big")
            start = 4
        else:
            return None
        if start + 4 + length != len(data) or length > self._max_size:
            return None
        payload = apply_mask(data[start + 4:], data[start:start + 4])
        if first == 0xC1:
            payload = self._inflate(payload)
        try:
            return payload.decode()
        except UnicodeDecodeError:
            raise WebSocketError(CLOSE_INVALID_DATA, "invalid UTF-8 in a text message") from None

    def feed(self, data: bytes) -> list[str | bytes | Ping | Close]:
        """Parse ``data`` (and what was left over); return the complete items, in order."""
        buffer = self._buffer
        if buffer:
            # a large frame comes in several reads: keep them until it is whole, then join
            # once (no parse of the same header, no growing copy per read)
            buffer.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            view = b"".join(buffer)
            buffer.clear()
        else:
            view = data
        self._need = 0
        out: list[str | bytes | Ping | Close] = []
        pos = 0
        end = len(view)
        while end - pos >= 2:
            first = view[pos]
            second = view[pos + 1]
            if first & 0x70:
                self._check_reserved(first)
            if not second & 0x80:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, "unmasked client frame")
            opcode = first & 0x0F
            length = second & 0x7F
            start = pos + 2
            if length == 126:
                if end - start < 2:
                    break
                length = int.from_bytes(view[start:start + 2], "big")
                start += 2
            elif length == 127:
                if end - start < 8:
                    break
                length = int.from_bytes(view[start:start + 8], "big")
                start += 8
            if opcode >= OP_CLOSE:
                if length > 125 or not first & 0x80:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR, "bad control frame")
            elif length + self._fragment_size > self._max_size:
                raise WebSocketError(CLOSE_TOO_BIG,
                                     "message over the size limit (max_http_buffer_size)")
            stop = start + 4 + length
            if stop > end:
                self._need = stop - pos
                break
            if length < 4096:
                payload = apply_mask(view[start + 4:stop], view[start:start + 4])
            else:  # unmasked from a view: one copy of a large payload less
                payload = apply_mask(memoryview(view)[start + 4:stop], view[start:start + 4])
            pos = stop
            if opcode == OP_TEXT or opcode == OP_BINARY:
                if self._fragment_op:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR, "message inside a fragmented one")
                if first & 0x80:
                    if first & 0x40:
                        payload = self._inflate(payload)
                    out.append(_message(opcode, payload))
                else:
                    self._fragment_op = opcode
                    self._fragments = [payload]
                    self._fragment_size = length
                    self._fragment_compressed = bool(first & 0x40)
            elif opcode == OP_CONTINUATION:
                if not self._fragment_op:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR, "continuation without a message")
                self._fragments.append(payload)
                self._fragment_size += length
                if first & 0x80:
                    whole = b"".join(self._fragments)
                    if self._fragment_compressed:
                        self._fragment_compressed = False
                        whole = self._inflate(whole)
                    out.append(_message(self._fragment_op, whole))
                    self._fragments = []
                    self._fragment_op = 0
                    self._fragment_size = 0
            elif opcode == OP_PING:
                out.append(Ping(payload))
            elif opcode == OP_CLOSE:
                out.append(_close(payload))
                pos = end  # nothing after a close frame counts
                break
            elif opcode != OP_PONG:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, f"unknown opcode {opcode}")
        if pos < end:  # the start of the next frame
            rest = view[pos:] if pos else view
            buffer.append(rest)
            self._have = len(rest)
        return out

    def _check_reserved(self, first: int) -> None:
        """RSV1 is allowed on the first frame of a data message with permessage-deflate;
        any other reserved bit is a protocol error."""
        if first & 0x30 or self._inflater is None:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "reserved bits set")
        opcode = first & 0x0F
        if opcode == OP_CONTINUATION:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "RSV1 set on a continuation frame")
        if opcode != OP_TEXT and opcode != OP_BINARY:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "RSV1 set on a control frame")

    def _inflate(self, payload: bytes) -> bytes:
        try:
            data = self._inflater.inflate(payload, self._max_size)  # type: ignore[union-attr]
        except zlib.error:
            raise WebSocketError(CLOSE_INVALID_DATA, "invalid compressed data") from None
        if data is None:
            raise WebSocketError(CLOSE_TOO_BIG,
                                 "message over the size limit once inflated "
                                 "(max_http_buffer_size)")
        return data


def _message(opcode: int, payload: bytes) -> str | bytes:
    if opcode == OP_BINARY:
        return payload
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise WebSocketError(CLOSE_INVALID_DATA, "invalid UTF-8 in a text message") from None


def _close(payload: bytes) -> Close:
    if not payload:
        return Close(1005, "")
    if len(payload) < 2:
        raise WebSocketError(CLOSE_PROTOCOL_ERROR, "bad close frame")
    code = int.from_bytes(payload[:2], "big")
    if code not in _VALID_CLOSE_CODES and not 3000 <= code < 5000:
        raise WebSocketError(CLOSE_PROTOCOL_ERROR, "bad close code")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise WebSocketError(CLOSE_INVALID_DATA, "invalid UTF-8 in a close reason") from None
    return Close(code, reason)
