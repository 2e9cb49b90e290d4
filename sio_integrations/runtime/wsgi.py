"""WSGI: ``WSGIApp`` routes Socket.IO, static files and the rest of a WSGI application."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .static import resolve_static

StartResponse = Callable[..., Any]


class WSGIApp:
    """WSGI application: Socket.IO at ``socketio_path``, static files, then ``wsgi_app``.

    ``socketio_app`` is anything with ``handle_request(environ, start_response)`` (a
    :class:`Server` or the engine). With ``socketio_path=None`` every request goes to it.
    """

    def __init__(
        self,
        socketio_app: Any,
        wsgi_app: Callable[..., Iterable[bytes]] | None = None,
        static_files: Mapping[str, Any] | None = None,
        socketio_path: str | None = "socket.io",
    ) -> None:
        self.engineio_app = socketio_app
        self.socketio_app = socketio_app
        self.wsgi_app = wsgi_app
        self.static_files = dict(static_files or {})
        self.socketio_path: str | None = None
        if socketio_path is not None:
            self.socketio_path = "/" + socketio_path.strip("/") + "/"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "/")
        if self.socketio_path is None or (path + "/").startswith(self.socketio_path):
            return self.socketio_app.handle_request(environ, start_response)
        found = resolve_static(path, self.static_files)
        if found is not None:
            try:
                with open(found.filename, "rb") as f:
                    body = f.read()
            except OSError:
                pass
            else:
                start_response("200 OK", [("Content-Type", found.content_type)])
                return [body]
        if self.wsgi_app is not None:
            return self.wsgi_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]
