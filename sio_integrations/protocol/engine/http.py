"""HTTP details of the long-polling transport (sans-IO): CORS headers, compression, cookie."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from typing import Any

Headers = list[tuple[str, str]]

#: what a long-polling GET answers (the JavaScript server's content types)
PAYLOAD_CONTENT_TYPE = "text/plain; charset=UTF-8"
POST_CONTENT_TYPE = "text/html"
ERROR_CONTENT_TYPE = "application/json"

_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda body: gzip.compress(body, compresslevel=6, mtime=0),
    "deflate": zlib.compress,
}


def cors_headers(
    *,
    origin: str | None,
    preflight: bool,
    request_headers: str | None,
    credentials: bool,
    disabled: bool = False,
) -> Headers:
    """CORS response headers for an allowed request (the origin was checked before)."""
    if disabled:
        return []
    headers: Headers = []
    if origin is not None:
        headers.append(("Access-Control-Allow-Origin", origin))
        headers.append(("Vary", "Origin"))
        if credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
    if preflight:
        headers.append(("Access-Control-Allow-Methods", "OPTIONS, GET, POST"))
        if request_headers:
            headers.append(("Access-Control-Allow-Headers", request_headers))
    return headers


def compress(body: bytes, accept_encoding: str | None, threshold: int) -> tuple[bytes, str | None]:
    """Compress ``body`` with the first of gzip/deflate the client accepts, above ``threshold``."""
    if len(body) < threshold or not accept_encoding:
        return body, None
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if name in _COMPRESSORS and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return _COMPRESSORS[name](body), name
    return body, None


def sid_cookie(sid: str, cookie: str | dict[str, Any] | None) -> str | None:
    """The ``Set-Cookie`` value for a new session (python-engineio's ``cookie`` option).

    A string is the cookie name (with ``Path=/; SameSite=Lax``); a dict gives ``name`` and
    further attributes, where ``True`` means a bare flag and a callable is called for the
    value.
    """
    if not cookie:
        return None
    attributes: dict[str, Any] = (
        dict(cookie)
        if isinstance(cookie, dict)
        else {"name": cookie, "path": "/", "SameSite": "Lax"}
    )
    parts = [f"{attributes.pop('name', 'io')}={sid}"]
    for name, value in attributes.items():
        if callable(value):
            value = value()
        if value is True:
            parts.append(name)
        elif value is not False and value is not None:
            parts.append(f"{name}={value}")
    return "; ".join(parts)
