"""The opening handshake of the threading-mode direct websocket path (RFC 6455 4.2.1).

On werkzeug or gunicorn's threaded workers the request's own socket is answered with our
101 and handed to :class:`~.wsgi_direct.SyncDirectWebSocket` for the rest of the session;
see :mod:`.wsgi_direct` for which sockets qualify and why.
"""

from __future__ import annotations

import base64
import hashlib
import select
import socket
import ssl
from collections.abc import Callable
from typing import Any

from .wsgi_direct import _DONTWAIT, SyncDirectWebSocket

__all__ = ["NOT_DIRECT", "serve"]

#: returned by :func:`serve` when the request cannot take the direct path
NOT_DIRECT: Any = object()

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

Handler = Callable[[SyncDirectWebSocket], None]


def _host_socket(environ: dict[str, Any]) -> tuple[socket.socket, str] | None:
    """The connection's socket and the host's name, when we may take it over."""
    if not _DONTWAIT or not hasattr(select, "poll"):
        return None
    host = "werkzeug"
    sock = environ.get("werkzeug.socket")
    if sock is None:
        host = "gunicorn"
        sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock, host


def serve(environ: dict[str, Any], start_response: Callable[..., Any], handler: Handler,
          max_size: int) -> Any:
    """Run ``handler`` on a websocket we own; :data:`NOT_DIRECT` when the host's socket
    cannot be taken. A bad handshake gets a normal HTTP error response (returned);
    otherwise this raises, once the session is over, what stops the host from writing a
    response on the socket (werkzeug: ``ConnectionError``; gunicorn: ``StopIteration``).
    """
    found = _host_socket(environ)
    if found is None:
        return NOT_DIRECT
    sock, host = found
    refusal = _check_handshake(environ)
    if refusal is not None:
        status, headers = refusal
        start_response(status, [("Content-Type", "text/plain"), *headers])
        return [status.encode()]
    accept = base64.b64encode(hashlib.sha1(
        environ["HTTP_SEC_WEBSOCKET_KEY"].strip().encode() + _GUID).digest())
    sock.settimeout(None)  # blocking: Engine.IO's heartbeat watches an idle connection
    try:
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    except OSError:
        pass  # the session below sees the dead socket at its first read
    ws = SyncDirectWebSocket(sock, max_size, peer=environ.get("REMOTE_ADDR"))
    try:
        handler(ws)
    finally:
        ws.finish()
    if host == "gunicorn":
        raise StopIteration  # gunicorn's worker then closes the connection quietly
    raise ConnectionError("websocket closed")  # werkzeug: "connection dropped", no response


def _check_handshake(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]]] | None:
    """Why the opening handshake is refused (RFC 6455 4.2.1), or None."""
    bad: tuple[str, list[tuple[str, str]]] = ("400 Bad Request", [])
    if environ.get("REQUEST_METHOD") != "GET":
        return bad
    if "upgrade" not in [t.strip() for t in environ.get("HTTP_CONNECTION", "").lower().split(",")]:
        return bad
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() != "13":
        return "426 Upgrade Required", [("Sec-WebSocket-Version", "13")]
    try:
        key = base64.b64decode(environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip(), validate=True)
    except ValueError:
        return bad
    return None if len(key) == 16 else bad
