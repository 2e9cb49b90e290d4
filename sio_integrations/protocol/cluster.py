"""The message format between the nodes of a cluster (sans-IO).

Every message is a flat mapping with a version, a kind, the sending node and the fields of
that kind; it is encoded as JSON (or msgpack when installed and chosen), never pickle, and
validated field by field on receipt. With a shared secret each message carries an
HMAC-SHA256 tag and unsigned or forged messages are refused. The wire layout::

    b"SIO1" <format: b"j" | b"m"> <flag: b"s" | b"u"> [32-byte tag if b"s"] <body>

The tag covers the 6 header bytes and the body. Binary values (``bytes``) travel natively in
msgpack and as base64 attachments (``"_bin"``, placeholders like the Socket.IO parser's) in
JSON.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..errors import ConfigurationError, RemoteProtocolError
from .binary import deconstruct, has_binary, reconstruct

__all__ = ["KINDS", "VERSION", "ClusterCodec", "DroppedMessage", "SocketInfo", "selector",
           "socket_handshake"]

VERSION = 1
_MAGIC = b"SIO1"
_TAG_BYTES = 32


class DroppedMessage(RemoteProtocolError):
    """A message from the queue was refused; ``category`` says why, for the counters:
    ``"unsigned"``, ``"forged"``, ``"invalid"``, ``"too_large"`` or ``"version"``."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(f"{category}: {reason}", fatal=False)
        self.category = category


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_opt_str(value: Any) -> bool:
    return value is None or type(value) is str


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_opt_int(value: Any) -> bool:
    return value is None or type(value) is int


def _is_selector(value: Any) -> bool:
    """A room (or sid) selector: None, one name, or a list of names."""
    return value is None or type(value) is str or (
        type(value) is list and all(type(v) is str for v in value))


def _is_names(value: Any) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _is_list(value: Any) -> bool:
    return type(value) is list


def _is_any(value: Any) -> bool:
    return True


_Check = Callable[[Any], bool]

#: kind -> required field -> check. Unknown kinds and missing or mistyped fields are
#: refused; extra fields are ignored (a newer node may add some without a version bump).
KINDS: dict[str, dict[str, _Check]] = {
    # an emit to sockets: namespace, event, args, room selector, skip selector, callback id
    "emit": {"ns": _is_str, "ev": _is_str, "args": _is_list, "to": _is_selector,
             "skip": _is_selector, "cb": _is_opt_int},
    # the acknowledgement of an emit with a callback, for the node that asked
    "ack": {"dst": _is_str, "id": _is_int, "args": _is_list},
    "enter": {"ns": _is_str, "sid": _is_str, "room": _is_str},
    "leave": {"ns": _is_str, "sid": _is_str, "room": _is_str},
    "close": {"ns": _is_str, "room": _is_str},
    "disconnect": {"ns": _is_str, "sid": _is_str},
    # the sockets selected by to/skip join or leave ``rooms``, or are disconnected
    "join": {"ns": _is_str, "to": _is_selector, "skip": _is_selector, "rooms": _is_names},
    "part": {"ns": _is_str, "to": _is_selector, "skip": _is_selector, "rooms": _is_names},
    "kick": {"ns": _is_str, "to": _is_selector, "skip": _is_selector},
    # a request every other node answers with one "res"
    "fetch": {"id": _is_int, "ns": _is_str, "to": _is_selector, "skip": _is_selector},
    "serverevent": {"id": _is_opt_int, "ev": _is_str, "args": _is_list},
    "res": {"dst": _is_str, "id": _is_int, "data": _is_any},
    # liveness: every listening node says hello at start, beats, and says bye at close
    "hello": {},
    "beat": {},
    "bye": {},
    # a node checking that its own subscription works
    "probe": {"dst": _is_str},
}


class ClusterCodec:
    """Encodes and validates cluster messages for one node.

    ``fmt`` is ``"json"`` or ``"msgpack"`` (for what this node sends; both are read).
    ``secret`` (bytes or str) turns on signing and makes unsigned messages unacceptable.
    """

    def __init__(self, *, fmt: str = "json", secret: bytes | str | None = None,
                 max_bytes: int = 10_000_000, json_module: Any = None) -> None:
        if fmt not in ("json", "msgpack"):
            raise ConfigurationError(
                f"message_queue_format must be 'json' or 'msgpack', got {fmt!r}")
        self._msgpack: Any = None
        try:
            import msgpack  # an optional dependency: only needed to read msgpack messages
        except ImportError:
            if fmt == "msgpack":
                raise ConfigurationError(
                    "message_queue_format 'msgpack' needs the msgpack package "
                    "(pip install msgpack)") from None
        else:
            self._msgpack = msgpack
        self.fmt = fmt
        # python-socketio's ``json=`` option: any module with dumps/loads
        self._json = json_module or json
        self._custom_json = json_module is not None
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is not None and len(secret) < 16:
            raise ConfigurationError("message_queue_secret must be at least 16 bytes long")
        self._secret = secret
        self.max_bytes = max_bytes

    @property
    def signed(self) -> bool:
        return self._secret is not None

    def encode(self, kind: str, node: str, **fields: Any) -> bytes:
        """The wire bytes of one message (``fields`` are not validated: we trust ourselves)."""
        message = {"v": VERSION, "k": kind, "n": node, **fields}
        if self.fmt == "msgpack":
            head = _MAGIC + b"m"
            body: bytes = self._msgpack.packb(message, use_bin_type=True)
        else:
            head = _MAGIC + b"j"
            if has_binary(fields):
                buffers: list[bytes] = []
                message = deconstruct(message, buffers)
                message["_bin"] = [base64.b64encode(b).decode("ascii") for b in buffers]
            text = (self._json.dumps(message) if self._custom_json
                    else json.dumps(message, separators=(",", ":")))
            body = text.encode() if isinstance(text, str) else text
        if self._secret is None:
            return head + b"u" + body
        head += b"s"
        tag = hmac.new(self._secret, head + body, hashlib.sha256).digest()
        return head + tag + body

    def decode(self, data: bytes) -> dict[str, Any]:
        """The validated message in ``data``; raises :class:`DroppedMessage`."""
        if len(data) > self.max_bytes:
            raise DroppedMessage("too_large", f"{len(data)} bytes")
        if len(data) < 6 or data[:4] != _MAGIC:
            if data[:3] == b"SIO":
                raise DroppedMessage("version", "unsupported wire version")
            raise DroppedMessage("invalid", "not a sio_integrations cluster message")
        fmt, flag = data[4:5], data[5:6]
        if flag == b"s":
            tag, body = data[6:6 + _TAG_BYTES], data[6 + _TAG_BYTES:]
            if self._secret is not None:
                expected = hmac.new(self._secret, data[:6] + body, hashlib.sha256).digest()
                if not hmac.compare_digest(tag, expected):
                    raise DroppedMessage("forged", "bad signature")
        elif flag == b"u":
            if self._secret is not None:
                raise DroppedMessage("unsigned", "a secret is configured")
            body = data[6:]
        else:
            raise DroppedMessage("invalid", "bad header")
        message = self._parse(fmt, body)
        return self._validate(message)

    def _parse(self, fmt: bytes, body: bytes) -> Any:
        try:
            if fmt == b"j":
                message = self._json.loads(body)
                if type(message) is dict and "_bin" in message:
                    blobs = message.pop("_bin")
                    if not _is_names(blobs):
                        raise DroppedMessage("invalid", "bad attachments")
                    buffers = [base64.b64decode(b, validate=True) for b in blobs]
                    message = reconstruct(message, buffers)
                return message
            if fmt == b"m":
                if self._msgpack is None:
                    raise DroppedMessage("invalid", "msgpack message but msgpack is missing")
                # strict_map_key: map keys must be str/bytes; ext types are refused
                return self._msgpack.unpackb(body, raw=False, strict_map_key=True,
                                             ext_hook=_refuse_ext)
        except DroppedMessage:
            raise
        except RemoteProtocolError as exc:
            raise DroppedMessage("invalid", exc.reason) from None
        except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
            raise DroppedMessage("invalid", f"undecodable body ({exc})") from None
        except Exception as exc:  # msgpack's own exception classes
            raise DroppedMessage("invalid", f"undecodable body ({exc})") from None
        raise DroppedMessage("invalid", "unknown format")

    @staticmethod
    def _validate(message: Any) -> dict[str, Any]:
        if type(message) is not dict:
            raise DroppedMessage("invalid", "not a mapping")
        if message.get("v") != VERSION:
            raise DroppedMessage("version", f"version {message.get('v')!r}")
        kind = message.get("k")
        checks = KINDS.get(kind) if type(kind) is str else None
        if checks is None:
            raise DroppedMessage("invalid", f"unknown kind {kind!r}")
        if type(message.get("n")) is not str:
            raise DroppedMessage("invalid", "no sender")
        for name, check in checks.items():
            if name not in message or not check(message[name]):
                raise DroppedMessage("invalid", f"{kind}: bad field {name!r}")
        return message


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not accepted")


def selector(value: Any) -> str | list[str] | None:
    """A room/sid selector in its wire form (tuples and sets become lists)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        raise TypeError("a room selector is a name or a list of names")
    return [str(v) for v in value]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SocketInfo:
    """One socket of the cluster, as ``fetch_sockets`` reports it (JS: a RemoteSocket)."""

    sid: str
    namespace: str
    #: the rooms it is in, its own sid room first
    rooms: tuple[str, ...]
    #: what the opening request said: headers (lower-case names), address, query, url,
    #: secure
    handshake: dict[str, Any]
    #: its session dict, when the queue can carry it (JSON-compatible), else None
    data: Any
    #: the node it is connected to
    node: str

    def to_wire(self) -> dict[str, Any]:
        return {"sid": self.sid, "rooms": list(self.rooms), "handshake": self.handshake,
                "data": self.data, "node": self.node}

    @classmethod
    def from_wire(cls, item: Any, namespace: str) -> SocketInfo | None:
        """The socket described by ``item``, or None when it is malformed."""
        if type(item) is not dict:
            return None
        sid, rooms, handshake, node = (item.get("sid"), item.get("rooms"),
                                       item.get("handshake"), item.get("node"))
        if type(sid) is not str or not _is_names(rooms) or type(handshake) is not dict \
                or type(node) is not str:
            return None
        return cls(sid=sid, namespace=namespace, rooms=tuple(rooms or ()), handshake=handshake,
                   data=item.get("data"), node=node)


def socket_handshake(environ: Mapping[str, Any]) -> dict[str, Any]:
    """The shareable part of a WSGI-style environ (no server objects, no cookies' values
    beyond what the headers carry)."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
               if key.startswith("HTTP_") and isinstance(value, str)}
    query = str(environ.get("QUERY_STRING", ""))
    return {
        "headers": headers,
        "address": environ.get("REMOTE_ADDR"),
        "query": dict(parse_qsl(query)),
        "url": str(environ.get("PATH_INFO", "")) + (f"?{query}" if query else ""),
        "secure": environ.get("wsgi.url_scheme") == "https",
    }
