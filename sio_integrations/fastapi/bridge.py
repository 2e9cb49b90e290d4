"""The opening ASGI request of a Socket.IO connection -> :class:`Handshake` and a Request.

The engine keeps the opening request's ASGI scope in the connection's environ
(``environ["asgi.scope"]``). From it we build what FastAPI code expects: a Starlette
``Request`` (headers, cookies, query, ``request.session`` from ``SessionMiddleware``,
``request.user`` from ``AuthenticationMiddleware``) and the core's ``Handshake``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from ..handshake import Handshake

#: scope keys we add to the Request of a Socket.IO handler (read by dependencies.py)
SID_KEY = "sio_integrations.sid"
NAMESPACE_KEY = "sio_integrations.namespace"
AUTH_KEY = "sio_integrations.auth"
SERVER_KEY = "sio_integrations.server"
#: the opening request's headers when the endpoint hid ``Origin`` from the engine
#: (the application's CORSMiddleware owns CORS then: see router.py)
HEADERS_KEY = "sio_integrations.headers"


def opening_scope(environ: Mapping[str, Any]) -> dict[str, Any]:
    """The ASGI scope of the request that opened the connection."""
    scope = environ.get("asgi.scope")
    if not isinstance(scope, dict):
        raise RuntimeError("this connection was not opened through an ASGI request")
    return scope


async def _empty_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def handler_request(environ: Mapping[str, Any], *, sid: str, namespace: str, auth: Any,
                    server: Any) -> Request:
    """A Starlette ``Request`` for the opening request, seen from a Socket.IO handler.

    A websocket handshake is presented as an HTTP GET so that every FastAPI dependency
    taking a ``Request`` works; its body is empty.
    """
    scope = dict(opening_scope(environ))
    if HEADERS_KEY in scope:
        scope["headers"] = scope[HEADERS_KEY]
    scope["type"] = "http"
    scope.setdefault("method", "GET")
    scope.setdefault("http_version", "1.1")
    scope[SID_KEY] = sid
    scope[NAMESPACE_KEY] = namespace
    scope[AUTH_KEY] = auth
    scope[SERVER_KEY] = server
    return Request(scope, _empty_body)


def handshake_from_environ(environ: Mapping[str, Any], auth: Any = None) -> Handshake:
    """The core's :class:`Handshake` for a connection opened through FastAPI."""
    return handshake_from_scope(opening_scope(environ), auth)


def handshake_from_scope(scope: Mapping[str, Any], auth: Any = None) -> Handshake:
    """The :class:`Handshake` of an ASGI scope (headers, query, client, session, user)."""
    raw = scope.get(HEADERS_KEY, scope.get("headers", ()))
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = headers[key] + "," + text if key in headers else text
    query = scope.get("query_string") or b""
    client = scope.get("client") or (None, 0)
    cookies = Request({"type": "http", "headers": list(raw)}).cookies
    return Handshake(
        headers=headers,
        query=parse_qs(query.decode("latin-1")),
        remote_addr=client[0],
        secure=scope.get("scheme") in ("https", "wss"),
        user=scope.get("user"),
        session=scope.get("session"),
        extra={"auth": auth, "cookies": cookies},
    )
