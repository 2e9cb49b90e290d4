"""The default Socket.IO codec (JSON text frames plus binary attachments).

Wire-compatible with the JavaScript ``socket.io-parser`` 4.2.x; see :mod:`.packets` for the
frame layout. The server's hot path is :meth:`JsonSerializer.encode_event` /
:meth:`JsonSerializer.encode_ack` and :meth:`JsonDecoder.feed`, so they avoid needless work:

* encoding uses one cached C JSON encoder whose ``default`` hook spots binary values, so
  non-binary data (the common case) is never walked twice;
* decoding scans the JSON in place with the C scanner (no slice of the payload).
"""

from __future__ import annotations

import enum
import json as _stdlib_json
import json.encoder as _json_encoder
import json.scanner as _json_scanner
import re
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError, LocalProtocolError, RemoteProtocolError
from .binary import BINARY_TYPES, deconstruct, has_binary, reconstruct
from .events import PlainEvent
from .limits import MAX_NESTING, finite_float, too_deep
from .packets import (
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_BINARY_BYTES,
    RESERVED_EVENTS,
    Packet,
    PacketType,
    check_json_module,
    check_packet,
    make_packet,
    remote_packet,
)

# CPython's accelerators (private names, hence getattr); the fallbacks keep PyPy working
_c_make_encoder: Any = getattr(_json_encoder, "c_make_encoder", None)
_c_make_scanner: Any = getattr(_json_scanner, "c_make_scanner", None)

_orjson: Any = None
try:  # the ``speedups`` extra: encodes about 4x faster than the standard library
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    pass

__all__ = ["JsonDecoder", "JsonSerializer"]

_TYPES = {str(t.value): t for t in PacketType}
#: the packet type a binary one becomes once its attachments are in (no Enum call)
_BASE_TYPES = {PacketType.BINARY_EVENT: PacketType.EVENT, PacketType.BINARY_ACK: PacketType.ACK}
_JSON_SPACE = " \t\n\r"
#: ids above 2**53 cannot round-trip through a JS number: refuse longer digit runs
_MAX_ID_DIGITS = 16
#: the head of a plain EVENT on "/": type 2, an optional ack id, the array
_PLAIN_EVENT = re.compile(r"2([0-9]{0,16})\[").match  # 16: _MAX_ID_DIGITS


class _BinaryFound(Exception):
    """Raised from the JSON ``default`` hook: the data holds binary values."""


def _default(value: Any) -> Any:
    if isinstance(value, BINARY_TYPES):
        raise _BinaryFound
    # what orjson encodes natively, so that the output does not depend on the extra
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _reject_constant(name: str) -> Any:
    # JSON.parse refuses NaN/Infinity, so a peer sending them is not speaking JSON
    raise ValueError(f"invalid JSON constant {name}")


def _stdlib_dumps() -> Callable[[Any], str]:
    """A compact JSON encoder (like ``JSON.stringify``) that raises _BinaryFound."""
    if _c_make_encoder is not None:
        # markers=None: no circular check (the C encoder's recursion guard still applies)
        encoder = _c_make_encoder(None, _default, _json_encoder.encode_basestring, None, ":",
                                  ",", False, False, False)
        ascii_encoder = _c_make_encoder(None, _default, _json_encoder.encode_basestring_ascii,
                                        None, ":", ",", False, False, False)

        def dumps(value: Any) -> str:
            text = "".join(encoder(value, 0))
            if not text.isascii():
                try:
                    text.encode()
                except UnicodeEncodeError:
                    # a lone surrogate: escape it like JSON.stringify does (UTF-8 frames)
                    text = "".join(ascii_encoder(value, 0))
            return text

        return dumps
    encoders = [_stdlib_json.JSONEncoder(  # pragma: no cover
        separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=False, default=_default
    ).encode for ensure_ascii in (False, True)]

    def dumps_fallback(value: Any) -> str:  # pragma: no cover
        text = encoders[0](value)
        try:
            text.encode()
        except UnicodeEncodeError:
            text = encoders[1](value)
        return text

    return dumps_fallback


def _orjson_dumps(standard: Callable[[Any], str]) -> Callable[[Any], str]:
    """orjson where its output is the standard encoder's; ``standard`` for the rest.

    orjson refuses what the standard encoder takes (non-string keys, integers beyond 64
    bits, lone surrogates) and writes ``null`` for NaN and infinities, which we refuse:
    any error, and any output holding a ``null``, is redone by ``standard`` (same result
    or the standard error). Dataclasses and datetimes go to the ``default`` hook, as
    with the standard encoder.
    """
    assert _orjson is not None
    dumps = _orjson.dumps
    options = _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME

    def encode(value: Any) -> str:
        try:
            text = dumps(value, _default, options).decode()
        except Exception as exc:  # noqa: BLE001 - the standard encoder gives the answer
            if isinstance(exc.__cause__, _BinaryFound):  # orjson wraps what default raised
                raise _BinaryFound from None
            return standard(value)
        return standard(value) if "null" in text else text

    return encode


def _custom_dumps(module: Any) -> Callable[[Any], str]:
    dumps = module.dumps

    def encode(value: Any) -> str:
        if has_binary(value):
            raise _BinaryFound
        text = dumps(value, separators=(",", ":"))
        return text.decode() if isinstance(text, bytes) else str(text)

    return encode


class JsonSerializer:
    """The default serializer (``serializer="default"``).

    ``json_module`` replaces the standard library's (it must offer ``dumps`` accepting
    ``separators=`` and ``loads``, like python-socketio's ``json`` option). With the
    standard library, orjson (the ``speedups`` extra) encodes when it is installed and
    ``speedups`` is true; the frames are the same either way (floats may be spelt
    differently, ``1e16`` for ``1e+16``).
    """

    def __init__(
        self,
        json_module: Any = None,
        *,
        max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
        max_binary_bytes: int = DEFAULT_MAX_BINARY_BYTES,
        speedups: bool = True,
    ) -> None:
        if type(max_attachments) is not int or max_attachments < 0:
            raise ConfigurationError("max_attachments must be an int >= 0")
        if type(max_binary_bytes) is not int or max_binary_bytes < 0:
            raise ConfigurationError("max_binary_bytes must be an int >= 0")
        module = check_json_module(json_module)
        self.max_attachments = max_attachments
        self.max_binary_bytes = max_binary_bytes
        self._custom = module is not _stdlib_json
        #: the C scanner the hot path calls directly (None: a custom json module, PyPy)
        self._scan = None if self._custom else _stdlib_scanner()
        if self._custom:
            self._json: Callable[[Any], str] = _custom_dumps(module)
            loads = module.loads

            def loads_at(text: str, index: int) -> Any:
                return loads(text[index:])

            self._loads_at: Callable[[str, int], Any] = loads_at
        else:
            #: value -> compact JSON text, UTF-8 safe; raises _BinaryFound for binary data
            self._json = _stdlib_dumps()
            if speedups and _orjson is not None:
                self._json = _orjson_dumps(self._json)
            self._loads_at = _stdlib_loads_at(self._scan)

    def decoder(self) -> JsonDecoder:
        """A decoder for one connection."""
        return JsonDecoder(self._loads_at, self.max_attachments, self.max_binary_bytes,
                           self._scan)

    def encode_event(
        self, namespace: str, name: str, args: Any, ack_id: int | None = None
    ) -> list[str | bytes]:
        """Frames of an EVENT packet; ``args`` is a list or tuple of arguments.

        Trusts ``namespace`` and ``ack_id`` (callers hold them from validated state); the
        event name is checked because it comes from application code.
        """
        if type(name) is not str or name in RESERVED_EVENTS:
            raise LocalProtocolError(f"event name must be a non-reserved string, got {name!r}")
        data = [name, *args]
        try:
            payload = self._json(data)
        except _BinaryFound:
            return self._binary_frames(5, namespace, ack_id, data)
        except ValueError as exc:
            raise LocalProtocolError(f"cannot encode event {name!r}: {exc}") from None
        if namespace == "/":
            if ack_id is None:
                return ["2" + payload]
            return [f"2{ack_id}{payload}"]
        return [f"2{namespace},{'' if ack_id is None else ack_id}{payload}"]

    def encode_ack(self, namespace: str, ack_id: int, args: Any) -> list[str | bytes]:
        """Frames of an ACK packet; ``args`` is a list or tuple of arguments."""
        data = args if type(args) is list else list(args)
        try:
            payload = self._json(data)
        except _BinaryFound:
            return self._binary_frames(6, namespace, ack_id, data)
        except ValueError as exc:
            raise LocalProtocolError(f"cannot encode ack: {exc}") from None
        if namespace == "/":
            return [f"3{ack_id}{payload}"]
        return [f"3{namespace},{ack_id}{payload}"]

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Frames of any packet (validated; raises :class:`LocalProtocolError`)."""
        ptype = check_packet(packet)
        data = packet.data
        if data is None:
            payload = ""
        else:
            try:
                payload = self._json(data)
            except _BinaryFound:
                if ptype in (2, 3):
                    return self._binary_frames(ptype + 3, packet.namespace, packet.id, data)
                raise LocalProtocolError(
                    "binary data can only be sent in EVENT and ACK packets"
                ) from None
            except ValueError as exc:
                raise LocalProtocolError(f"cannot encode packet: {exc}") from None
        return [_header(ptype, 0, packet.namespace, packet.id) + payload]

    def _binary_frames(
        self, ptype: int, namespace: str, ack_id: int | None, data: Any
    ) -> list[str | bytes]:
        buffers: list[bytes] = []
        stripped = deconstruct(data, buffers)
        try:
            payload = self._json(stripped)
        except ValueError as exc:
            raise LocalProtocolError(f"cannot encode packet: {exc}") from None
        frames: list[str | bytes] = [_header(ptype, len(buffers), namespace, ack_id) + payload]
        frames.extend(buffers)
        return frames


def _header(ptype: int, attachments: int, namespace: str, ack_id: int | None) -> str:
    head = str(ptype)
    if attachments:
        head += f"{attachments}-"
    if namespace != "/":
        head += namespace + ","
    if ack_id is not None:
        head += str(ack_id)
    return head


def _stdlib_scanner() -> Callable[[str, int], tuple[Any, int]] | None:
    """CPython's C scanner: ``(value, end)`` of the JSON value at an index, or None."""
    if _c_make_scanner is None:  # pragma: no cover
        return None
    return _c_make_scanner(  # type: ignore[no-any-return]
        _stdlib_json.JSONDecoder(parse_constant=_reject_constant, parse_float=finite_float))


def _stdlib_loads_at(scan: Callable[[str, int], tuple[Any, int]] | None,
                     ) -> Callable[[str, int], Any]:
    if scan is None:  # pragma: no cover
        decoder = _stdlib_json.JSONDecoder(parse_constant=_reject_constant,
                                           parse_float=finite_float)

        def slow(text: str, index: int) -> Any:
            return decoder.decode(text[index:])

        return slow

    def loads_at(text: str, index: int) -> Any:
        try:
            value, end = scan(text, index)
        except StopIteration:
            raise ValueError("no JSON value") from None
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            raise ValueError("extra data after the JSON value")
        return value

    return loads_at


class JsonDecoder:
    """Decodes the frames of one connection (see :class:`~.packets.Decoder`)."""

    __slots__ = (
        "_binary_bytes",
        "_buffers",
        "_expected",
        "_pending",
        "_loads_at",
        "_scan",
        "max_attachments",
        "max_binary_bytes",
        "pending_since",
    )

    def __init__(
        self, loads_at: Callable[[str, int], Any], max_attachments: int, max_binary_bytes: int,
        scan: Callable[[str, int], tuple[Any, int]] | None = None,
    ) -> None:
        self._loads_at = loads_at
        self._scan = scan
        self.max_attachments = max_attachments
        self.max_binary_bytes = max_binary_bytes
        self.pending_since: float | None = None
        self._pending: tuple[PacketType, str, Any, int | None] | None = None
        self._buffers: list[bytes] = []
        self._expected = 0
        self._binary_bytes = 0

    def reset(self) -> None:
        """Forget a half-received binary packet."""
        self.pending_since = None
        self._pending = None
        self._buffers = []
        self._expected = 0
        self._binary_bytes = 0

    def plain_event(self, text: str) -> PlainEvent | None:
        """The common case, quickly: ``text`` is a plain EVENT ("2", an optional ack id,
        a JSON array) on the main namespace. Returns ``(name, args, ack_id)``, or None for
        anything else, valid or not (the caller then decodes it the full way, with its
        errors)."""
        if self._pending is not None:
            return None
        head = _PLAIN_EVENT(text)
        if head is None:
            return None
        digits = head.group(1)
        index = head.end() - 1
        scan = self._scan
        try:
            if scan is not None:  # loads_at() without the call around it
                data, end = scan(text, index)
                if end != len(text):
                    return None  # trailing spaces, or worse: the full decoder says which
            else:
                data = self._loads_at(text, index)
        except Exception:
            return None
        if len(text) - index > MAX_NESTING and (
                text.count("[", index) + text.count("{", index) > MAX_NESTING and too_deep(data)):
            return None
        if type(data) is not list or not data:
            return None
        name = data[0]
        if type(name) is not str or name in RESERVED_EVENTS:
            return None
        return name, data[1:], int(digits) if digits else None

    def feed(self, data: str | bytes, now: float = 0.0) -> Packet | None:
        """Decode one Engine.IO message; None while attachments are awaited."""
        if type(data) is str:
            if self._pending is not None:
                self.reset()
                raise RemoteProtocolError("text frame while awaiting binary attachments")
            return self._text(data, now)
        if isinstance(data, BINARY_TYPES):
            return self._attachment(data if type(data) is bytes else bytes(data))
        raise LocalProtocolError(f"feed() takes str or bytes, got {type(data).__name__}")

    def _text(self, text: str, now: float) -> Packet | None:
        size = len(text)
        if not size:
            raise RemoteProtocolError("empty packet")
        ptype = _TYPES.get(text[0])
        if ptype is None:
            raise RemoteProtocolError(f"unknown packet type {text[0]!r}")
        index = 1
        attachments = 0
        if ptype >= 5:
            dash = text.find("-", 1)
            count = text[1:dash]
            if dash < 0 or not (count.isascii() and count.isdigit()) or len(count) > 6:
                raise RemoteProtocolError("invalid attachment count")
            attachments = int(count)
            if attachments < 1:
                raise RemoteProtocolError("invalid attachment count")
            if attachments > self.max_attachments:
                raise RemoteProtocolError(f"too many attachments ({attachments})")
            index = dash + 1
        namespace = "/"
        if index < size and text[index] == "/":
            comma = text.find(",", index)
            if comma < 0:
                namespace = text[index:]
                index = size
            else:
                namespace = text[index:comma]
                index = comma + 1
        ack_id = None
        if index < size and "0" <= text[index] <= "9":
            end = index + 1
            while end < size and "0" <= text[end] <= "9":
                end += 1
            if end - index > _MAX_ID_DIGITS:
                raise RemoteProtocolError("invalid packet id")
            ack_id = int(text[index:end])
            index = end
        data = None
        if index < size:
            try:
                data = self._loads_at(text, index)
            except Exception:  # ValueError, RecursionError, or anything a custom module raises
                raise RemoteProtocolError("invalid JSON payload") from None
            # only a text with that many brackets can nest that deep (cheap C-speed test)
            if (text.count("[", index) + text.count("{", index) > MAX_NESTING
                    and too_deep(data)):
                raise RemoteProtocolError(f"payload nested deeper than {MAX_NESTING}")
        if ptype >= 5:
            base = _BASE_TYPES[ptype]
            remote_packet(base, namespace, data, ack_id)  # validate now, fail fast
            self._pending = (base, namespace, data, ack_id)
            self._expected = attachments
            self.pending_since = now
            return None
        if ptype == 3 and data is None:
            data = []  # the JS server treats a data-less ACK as one without arguments
        return remote_packet(ptype, namespace, data, ack_id)

    def _attachment(self, chunk: bytes) -> Packet | None:
        header = self._pending
        if header is None:
            raise RemoteProtocolError("binary frame without a binary packet")
        self._binary_bytes += len(chunk)
        if self._binary_bytes > self.max_binary_bytes:
            self.reset()
            raise RemoteProtocolError("binary attachments too large")
        self._buffers.append(chunk)
        if len(self._buffers) < self._expected:
            return None
        buffers = self._buffers
        self.reset()
        ptype, namespace, data, ack_id = header
        try:
            data = reconstruct(data, buffers)
        except RecursionError:
            raise RemoteProtocolError("binary packet nested too deeply") from None
        return make_packet(ptype, namespace, data, ack_id)
