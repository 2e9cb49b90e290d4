"""The opening Tornado request of a Socket.IO connection -> :class:`Handshake`.

The handler that served the opening request (``environ["tornado.handler"]``) is asked, at
that request, for what Tornado code knows about its user: ``current_user`` (the handler's
``get_current_user()``, or what ``prepare()`` set) becomes ``Handshake.user``, and the
request's signed cookies (verified with the application's ``cookie_secret``) become
``Handshake.session``.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from ..handshake import Handshake

#: environ key of the handler that served the request (python-engineio's Tornado driver)
HANDLER_KEY = "tornado.handler"
#: attribute of the handler holding the handshake built at the opening request
HANDSHAKE_ATTR = "socketio_handshake"


def signed_cookies(handler: Any) -> dict[str, str | bytes] | None:
    """The request's cookies whose signature verifies, decoded (None without a
    ``cookie_secret``)."""
    if not handler.application.settings.get("cookie_secret"):
        return None
    verified: dict[str, str | bytes] = {}
    for name in handler.request.cookies:
        value = handler.get_signed_cookie(name)
        if value is None:
            continue
        try:
            verified[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            verified[name] = value
    return verified


def handshake_from_handler(handler: Any) -> Handshake:
    """The :class:`Handshake` of the request a Tornado handler is serving."""
    request = handler.request
    headers: dict[str, str] = {}
    for name, value in request.headers.get_all():
        key = name.lower()
        headers[key] = headers[key] + "," + value if key in headers else value
    return Handshake(
        headers=headers,
        query=parse_qs(request.query or ""),
        remote_addr=request.remote_ip,
        secure=request.protocol == "https",
        user=handler.current_user,
        session=signed_cookies(handler),
        extra={"cookies": {name: m.value for name, m in request.cookies.items()},
               "handler": handler},
    )


def opening_handler(environ: Mapping[str, Any]) -> Any:
    """The Tornado handler that served the request opening the connection."""
    handler = environ.get(HANDLER_KEY)
    if handler is None:
        raise RuntimeError("this connection was not opened through a Tornado handler")
    return handler


def get_handshake(environ: MutableMapping[str, Any]) -> Handshake:
    """The handshake of the connection whose environ this is."""
    handler = opening_handler(environ)
    handshake = getattr(handler, HANDSHAKE_ATTR, None)
    if not isinstance(handshake, Handshake):
        handshake = handshake_from_handler(handler)
        setattr(handler, HANDSHAKE_ATTR, handshake)
    if handshake.remote_addr:
        # python-engineio's driver reports every Tornado client as 127.0.0.1
        environ["REMOTE_ADDR"] = handshake.remote_addr
    return handshake
