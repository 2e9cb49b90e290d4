"""The opening Sanic request of a Socket.IO connection -> :class:`Handshake`.

The engine keeps the opening request in the connection's environ
(``environ["sanic.request"]``). Whatever the application's middleware put on
``request.ctx`` at that request is what socket handlers see: ``request.ctx.user`` becomes
``Handshake.user``, ``request.ctx.session`` ``Handshake.session``, and the whole ``ctx`` is
``Handshake.extra["ctx"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from ..handshake import Handshake

#: environ key of the opening Sanic request (set by python-engineio's Sanic driver)
REQUEST_KEY = "sanic.request"
#: environ key caching the connection's handshake
HANDSHAKE_KEY = "sio_integrations.handshake"


def opening_request(environ: Mapping[str, Any]) -> Any:
    """The Sanic ``Request`` that opened the connection."""
    request = environ.get(REQUEST_KEY)
    if request is None:
        raise RuntimeError("this connection was not opened through a Sanic request")
    return request


def handshake_from_request(request: Any, *, user_attr: str = "user",
                           session_attr: str = "session") -> Handshake:
    """The :class:`Handshake` of a Sanic request (headers, query, client, ctx)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = headers[key] + "," + value if key in headers else value
    cookies = {name: request.cookies.get(name) for name in request.cookies}
    ctx = request.ctx
    return Handshake(
        headers=headers,
        query=parse_qs(request.query_string or ""),
        # remote_addr honours the app's proxy settings (FORWARDED_SECRET, REAL_IP_HEADER)
        remote_addr=request.remote_addr or request.ip or None,
        secure=request.scheme in ("https", "wss"),
        user=getattr(ctx, user_attr, None),
        session=getattr(ctx, session_attr, None),
        extra={"ctx": ctx, "cookies": cookies, "request": request},
    )


def get_handshake(environ: MutableMapping[str, Any], *, user_attr: str = "user",
                  session_attr: str = "session") -> Handshake:
    """The handshake of the connection whose environ this is (built once, then cached)."""
    handshake = environ.get(HANDSHAKE_KEY)
    if not isinstance(handshake, Handshake):
        request = opening_request(environ)
        handshake = handshake_from_request(request, user_attr=user_attr,
                                           session_attr=session_attr)
        environ[HANDSHAKE_KEY] = handshake
        # python-engineio's driver reports every Sanic client as 127.0.0.1
        if handshake.remote_addr:
            environ["REMOTE_ADDR"] = handshake.remote_addr
    return handshake
