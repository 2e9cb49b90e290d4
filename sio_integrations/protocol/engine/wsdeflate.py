"""permessage-deflate (RFC 7692) for the server side of a websocket, without I/O.

Used by the direct websocket path next to :mod:`.wsframes`: browsers and the JS client
offer the extension, and hosts accept it by default, so a connection we take over may have
negotiated it.

* Inbound, a message with RSV1 set is inflated with the negotiated client window
  (:class:`Inflater`), up to the engine's message size limit: a small compressed message
  that inflates past it is refused (1009) without being inflated into memory. A message
  without RSV1 is not compressed and costs no zlib call.
* Outbound (:class:`Deflater`), RFC 7692 lets the sender choose per message: below
  ``threshold`` bytes a message goes out uncompressed; above it, it is compressed on its
  own, with no context kept from earlier messages (as if ``server_no_context_takeover``
  were negotiated, which the receiver cannot tell apart from context takeover). So a
  compressed frame depends only on the message and the window size, and a broadcast is
  compressed once and the same wire bytes written to every member, as for uncompressed
  frames; and no connection holds a compressor (about 30 KiB to 260 KiB of zlib state
  each), only the milliseconds a message takes to compress.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final

from .wsframes import _header, encode_binary, encode_text

__all__ = [
    "DEFAULT_THRESHOLD",
    "DeflateParams",
    "Deflater",
    "Inflater",
    "negotiate",
]

#: what RFC 7692 strips from the end of every compressed message (and we append back)
_TAIL: Final = b"\x00\x00\xff\xff"
#: messages below this many bytes (characters for text) go out uncompressed, as in the
#: JS socket.io server (``perMessageDeflate.threshold``)
DEFAULT_THRESHOLD: Final = 1024
#: zlib level 1 with memLevel 5: measured on JSON chat messages of 3 to 30 KB, within 10%
#: of level 6's size at a third to a half of its time, and its state is set up in
#: microseconds (memLevel 8 zeroes ~260 KiB per compressor)
_LEVEL: Final = 1
_MEM_LEVEL: Final = 5
#: a binary message is compressed only when its first bytes compress to less than this
#: fraction (images and archives, already compressed, are not tried in full)
_PROBE: Final = 1024
_PROBE_RATIO: Final = 0.9
#: the client window the server asks for when the client lets it choose (as uvicorn's
#: websockets does): a 4 KiB inflate window per connection instead of 32 KiB
CLIENT_WINDOW: Final = 12

_NAME: Final = "permessage-deflate"


@dataclass(frozen=True, kw_only=True, slots=True)
class DeflateParams:
    """The negotiated parameters of one connection (RFC 7692 section 7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


def _parse(header: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """``Sec-WebSocket-Extensions`` as (name, [(param, value or None)]), in order."""
    offers = []
    for item in header.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        if not name:
            continue
        parsed: list[tuple[str, str | None]] = []
        for param in params:
            key, eq, value = param.partition("=")
            parsed.append((key.strip().lower(), value.strip().strip('"') if eq else None))
        offers.append((name.lower(), parsed))
    return offers


def _window(value: str | None) -> int | None:
    if value is None or not value.isdigit() or not 8 <= int(value) <= 15:
        return None
    return int(value)


def _accept(params: list[tuple[str, str | None]]) -> tuple[DeflateParams, str] | None:
    """Our answer to one permessage-deflate offer, or None to decline it."""
    seen: set[str] = set()
    client_ncp = False
    server_bits: int | None = None
    client_bits: int | None = None
    for key, value in params:
        if key in seen:
            return None  # a parameter twice: an invalid offer
        seen.add(key)
        if key == "server_no_context_takeover" or key == "client_no_context_takeover":
            if value is not None:
                return None
            client_ncp = client_ncp or key == "client_no_context_takeover"
        elif key == "server_max_window_bits":
            server_bits = _window(value)
            if server_bits is None:
                return None
        elif key == "client_max_window_bits":
            # without a value the client lets us choose; with one, we may choose less
            bits = CLIENT_WINDOW if value is None else _window(value)
            if bits is None:
                return None
            client_bits = min(bits, CLIENT_WINDOW)
        else:
            return None
    # we never keep a compression context (see the module docstring): saying so lets the
    # client drop its inflate window after every message (RFC 7692 lets a server say it
    # unasked); the other parameters are answered only when offered, as the RFC requires
    parts = [_NAME, "server_no_context_takeover"]
    if client_ncp:
        parts.append("client_no_context_takeover")
    if server_bits is not None:
        parts.append(f"server_max_window_bits={server_bits}")
    if client_bits is not None:
        parts.append(f"client_max_window_bits={client_bits}")
    accepted = DeflateParams(server_no_context_takeover=True,
                             client_no_context_takeover=client_ncp,
                             server_max_window_bits=15 if server_bits is None else server_bits,
                             client_max_window_bits=15 if client_bits is None else client_bits)
    return accepted, "; ".join(parts)


def negotiate(header: str | None) -> tuple[DeflateParams, str] | None:
    """Accept the first valid permessage-deflate offer of a client's
    ``Sec-WebSocket-Extensions``: the parameters and the response header's value (None:
    no extension; other extensions are declined)."""
    if not header:
        return None
    for name, params in _parse(header):
        if name == _NAME:
            accepted = _accept(params)
            if accepted is not None:
                return accepted
    return None


class Inflater:
    """Inflates a connection's compressed messages (RSV1 set on their first frame).

    With context takeover (the default) the window carries over from message to message,
    so one zlib object lives as long as the connection, created with the first compressed
    message; with ``no_context_takeover`` each message gets a fresh one.
    """

    __slots__ = ("_wbits", "_no_context_takeover", "_zobj")

    def __init__(self, max_window_bits: int = 15, no_context_takeover: bool = False
                 ) -> None:  # noqa: D107
        # zlib cannot compress with a 256-byte window and uses 512 bytes: a wider window
        # inflates any valid stream
        self._wbits = -max(max_window_bits, 9)
        self._no_context_takeover = no_context_takeover
        self._zobj: zlib._Decompress | None = None

    def inflate(self, payload: bytes, limit: int) -> bytes | None:
        """The message of ``payload`` (a whole compressed message), or None when it would
        inflate to more than ``limit`` bytes. Raises ``zlib.error`` on invalid data."""
        zobj = self._zobj
        if zobj is None:
            zobj = zlib.decompressobj(self._wbits)
            if not self._no_context_takeover:
                self._zobj = zobj
        # max_length stops zlib one byte past the limit: a zip bomb is never inflated
        data = zobj.decompress(payload + _TAIL, limit + 1)
        if len(data) > limit:
            self._zobj = None  # the connection fails: free the window now
            return None
        if zobj.eof:
            # a final block (RFC 7692 allows one): the stream is over, the next
            # message starts a new one; anything after it in this message is invalid
            self._zobj = None
            if zobj.unused_data not in (b"", _TAIL):
                raise zlib.error("data after the final deflate block")
        return data


def _compress(data: bytes, wbits: int) -> bytes:
    zobj = zlib.compressobj(_LEVEL, zlib.DEFLATED, wbits, _MEM_LEVEL)
    out = zobj.compress(data) + zobj.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]  # a sync flush ends with the four bytes RFC 7692 leaves out


class Deflater:
    """Frames a server's messages for connections with the same server window: compressed
    from ``threshold`` bytes on (each on its own, see the module docstring), else plain.

    The last message framed is kept with its wire bytes, so a broadcast to many
    connections sharing this deflater compresses once.
    """

    __slots__ = ("threshold", "_wbits", "_last")

    def __init__(self, max_window_bits: int = 15, threshold: int = DEFAULT_THRESHOLD
                 ) -> None:  # noqa: D107
        #: zlib cannot compress raw deflate with an 8-bit window: nothing is compressed
        self.threshold = threshold if max_window_bits >= 9 else 1 << 62
        self._wbits = -max_window_bits
        self._last: tuple[object, bytes] = (None, b"")

    def frame(self, message: str | bytes) -> bytes:
        """One whole frame carrying ``message`` (text for ``str``)."""
        last = self._last
        if message is last[0]:
            return last[1]
        wire = self._frame(message)
        self._last = (message, wire)  # one tuple: atomic for threads
        return wire

    def _frame(self, message: str | bytes) -> bytes:
        if len(message) < self.threshold:
            return encode_text(message) if isinstance(message, str) else encode_binary(message)
        if isinstance(message, str):
            data = message.encode()
            first = 0xC1  # FIN, RSV1 (compressed), text
        else:
            data = bytes(message)
            sample = data[:_PROBE]
            if len(zlib.compress(sample, _LEVEL, self._wbits)) > len(sample) * _PROBE_RATIO:
                return encode_binary(data)  # already compressed data: not worth trying
            first = 0xC2  # FIN, RSV1 (compressed), binary
        compressed = _compress(data, self._wbits)
        if len(compressed) >= len(data):
            return encode_text(message) if isinstance(message, str) else encode_binary(data)
        return _header(first, len(compressed)) + compressed
