"""Engine.IO v4 request validation (sans-IO): a request in, a decision or an HTTP error out.

The error codes and messages are the JavaScript server's, so clients that inspect the
``{"code": N, "message": "..."}`` body of a 400 response see what they expect.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple
from urllib.parse import unquote

#: the only protocol revision this server speaks
PROTOCOL = "4"
#: longest session id accepted from a client (ours are 20 characters)
MAX_SID_LENGTH = 64


class ErrorCode(enum.IntEnum):
    UNKNOWN_TRANSPORT = 0
    UNKNOWN_SID = 1
    BAD_HANDSHAKE_METHOD = 2
    BAD_REQUEST = 3
    FORBIDDEN = 4
    UNSUPPORTED_PROTOCOL_VERSION = 5


ERROR_MESSAGES = {
    ErrorCode.UNKNOWN_TRANSPORT: "Transport unknown",
    ErrorCode.UNKNOWN_SID: "Session ID unknown",
    ErrorCode.BAD_HANDSHAKE_METHOD: "Bad handshake method",
    ErrorCode.BAD_REQUEST: "Bad request",
    ErrorCode.FORBIDDEN: "Forbidden",
    ErrorCode.UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class RequestError:
    """Refuse the request: answer ``status`` with the JSON error body.

    ``reason`` is the detail for the single log line; ``close_session`` tells the runtime
    to close the session the request named (the peer broke the protocol).
    """

    code: ErrorCode
    reason: str
    status: int = 400
    close_session: bool = False

    @property
    def message(self) -> str:
        return ERROR_MESSAGES[self.code]

    def body(self) -> bytes:
        return json.dumps(
            {"code": int(self.code), "message": self.message}, separators=(",", ":")
        ).encode()


class RequestKind(enum.Enum):
    PREFLIGHT = "preflight"  # CORS OPTIONS request
    HANDSHAKE = "handshake"  # new session over polling or websocket
    POLL = "poll"  # long-polling GET of an existing session
    POST = "post"  # long-polling POST of an existing session
    UPGRADE = "upgrade"  # websocket for an existing (polling) session


class EngineRequest(NamedTuple):
    """What a valid request is (immutable; a named tuple because one is built for every
    long-polling request and a frozen dataclass costs three times as much to create)."""

    kind: RequestKind
    transport: str
    sid: str | None = None


def parse_query(query_string: str) -> dict[str, str]:
    """Query parameters; the first value of a repeated name wins.

    The same result as ``urllib.parse.parse_qsl(query_string, keep_blank_values=True)``
    (``+`` is a space, ``%XX`` escapes are decoded as UTF-8), without its generality: it
    runs for every long-polling request, whose query is a few plain ``name=value`` pairs.
    """
    query: dict[str, str] = {}
    for field in query_string.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name = unquote(name.replace("+", " "))
            value = unquote(value.replace("+", " "))
        if name not in query:
            query[name] = value
    return query


def classify_request(
    *,
    method: str,
    query: Mapping[str, str],
    websocket: bool,
    transports: Sequence[str],
) -> EngineRequest | RequestError:
    """Decide what a request is, or why it is refused, from its method and query.

    ``websocket`` is true when the request asks for a websocket (ASGI websocket scope or
    an ``Upgrade: websocket`` header). Session lookups are the caller's job.
    """
    method = method.upper()
    transport = query.get("transport")
    if method == "OPTIONS" and not websocket:
        return EngineRequest(kind=RequestKind.PREFLIGHT, transport=transport or "")
    # compare against our own tuple of names: "constructor"/"__proto__" never match
    if transport is None or transport not in (
        transports if transports.__class__ is tuple else tuple(transports)
    ):
        return RequestError(
            code=ErrorCode.UNKNOWN_TRANSPORT, reason=f"unknown transport {transport!r}"
        )
    sid = query.get("sid")
    eio = query.get("EIO")
    if (sid is None or eio is not None) and eio != PROTOCOL:
        return RequestError(
            code=ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
            reason=f"unsupported protocol version EIO={eio!r}",
        )
    if "j" in query:
        return RequestError(code=ErrorCode.BAD_REQUEST, reason="JSONP polling is not supported")
    if websocket != (transport == "websocket"):
        return RequestError(
            code=ErrorCode.BAD_REQUEST,
            reason=f"transport {transport} does not match the request "
            f"({'websocket' if websocket else 'plain HTTP'})",
        )
    if sid is None:
        if method != "GET":
            return RequestError(
                code=ErrorCode.BAD_HANDSHAKE_METHOD, reason=f"handshake with method {method}"
            )
        return EngineRequest(kind=RequestKind.HANDSHAKE, transport=transport)
    if not sid or len(sid) > MAX_SID_LENGTH or not sid.isprintable():
        return RequestError(code=ErrorCode.UNKNOWN_SID, reason="malformed session id")
    if websocket:
        if method != "GET":
            return RequestError(code=ErrorCode.BAD_REQUEST, reason=f"websocket with {method}")
        return EngineRequest(kind=RequestKind.UPGRADE, transport=transport, sid=sid)
    if method == "GET":
        return EngineRequest(kind=RequestKind.POLL, transport=transport, sid=sid)
    if method == "POST":
        return EngineRequest(kind=RequestKind.POST, transport=transport, sid=sid)
    return RequestError(code=ErrorCode.BAD_REQUEST, reason=f"method {method} not allowed")


def session_request(method: str, query_string: str) -> tuple[RequestKind, str] | None:
    """``(POLL or POST, sid)`` for the long-polling request of a session in its usual
    form (GET or POST, ``transport=polling``, a well-formed ``sid``, ``EIO=4`` or none, no
    escapes, not JSONP, not a websocket); None for anything else, which
    :func:`classify_request` decides. Same decision as that function for what it
    accepts, in a third of the time: it runs for every long-polling request."""
    if method == "GET":
        kind = RequestKind.POLL
    elif method == "POST":
        kind = RequestKind.POST
    else:
        return None
    if "%" in query_string or "+" in query_string:
        return None
    transport = sid = eio = None
    for field in query_string.split("&"):
        name, _, value = field.partition("=")
        if name == "sid":
            if sid is None:  # (the first value wins, as in parse_query)
                sid = value
        elif name == "transport":
            if transport is None:
                transport = value
        elif name == "EIO":
            if eio is None:
                eio = value
        elif name == "j":
            return None
    if (transport != "polling" or not sid or (eio is not None and eio != PROTOCOL)
            or len(sid) > MAX_SID_LENGTH or not sid.isprintable()):
        return None
    return kind, sid


def unknown_sid(sid: str) -> RequestError:
    return RequestError(code=ErrorCode.UNKNOWN_SID, reason=f"unknown session id {sid!r}")


def check_content_length(value: str | None, limit: int) -> RequestError | None:
    """Refuse a POST whose declared size exceeds ``limit`` before reading it."""
    if value is None or value == "":
        return None
    try:
        length = int(value)
    except ValueError:
        return RequestError(code=ErrorCode.BAD_REQUEST, reason="invalid Content-Length")
    if length < 0:
        return RequestError(code=ErrorCode.BAD_REQUEST, reason="invalid Content-Length")
    if length > limit:
        return body_too_large(limit)
    return None


def body_too_large(limit: int) -> RequestError:
    return RequestError(
        code=ErrorCode.BAD_REQUEST,
        reason=f"request body larger than max_http_buffer_size ({limit} bytes)",
        close_session=True,
    )


def origin_allowed(
    origin: str | None,
    *,
    policy: object,
    host: str | None,
    forwarded_host: str | None = None,
    environ: Mapping[str, object] | None = None,
) -> bool:
    """Whether a request with this ``Origin`` header may use the server.

    ``policy`` is ``cors_allowed_origins``: ``None`` (same origin: the origin's host must
    be the ``Host`` header, or ``X-Forwarded-Host``), ``'*'``, one origin, a list of
    origins, ``[]`` (CORS handling disabled) or a callable ``(origin, environ) -> bool``.
    Requests without an ``Origin`` header (non-browser clients) are always allowed.
    """
    if origin is None:
        return True
    if policy is None:
        netloc = origin.split("://", 1)[1] if "://" in origin else None
        if netloc is None:
            return False
        netloc = netloc.rstrip("/").lower()
        hosts = [host.strip().lower()] if host else []
        if forwarded_host:
            hosts.extend(h.strip().lower() for h in forwarded_host.split(","))
        return netloc in hosts
    if isinstance(policy, str):
        return policy == "*" or origin == policy
    if callable(policy):
        return bool(_call_policy(policy, origin, environ or {}))
    if isinstance(policy, (list, tuple, set, frozenset)):
        return not policy or "*" in policy or origin in policy
    return False


def _call_policy(policy: object, origin: str, environ: Mapping[str, object]) -> object:
    import inspect

    assert callable(policy)
    try:
        params = inspect.signature(policy).parameters.values()
    except (TypeError, ValueError):
        return policy(origin, environ)
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params):
        return policy(origin, environ)
    return policy(origin)
