"""``SocketIO``: the server of a Tornado application, configured by its settings.

``socketio = SocketIO(**options)`` exists before the ``Application`` (its handlers are
registered at import time); the route ``(r"/socket.io/", SocketIOHandler, {"socketio":
socketio})`` goes into the ``Application``; ``socketio.init_app(app)`` then reads the
``socketio_*`` settings, validates them and builds the ``AsyncServer`` (async mode
``"tornado"``). Without ``init_app`` that happens at the endpoint's first request.
Tornado has no lifecycle hooks: ``await socketio.startup()`` / ``await
socketio.shutdown()`` from your ``main()`` (the server also starts with its first
connection).
"""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ConfigurationError
from ..errors import ConnectionRefusedError as Refused
from ..handshake import Handshake
from ..options import ServerOptions
from ..runtime._async.server import AsyncServer
from ..runtime.logs import limit_warnings
from ..runtime.plugin_support import AsyncServerMethods, DeferredHandlers, HostConnectHandler
from .bridge import HANDLER_KEY, get_handshake
from .config import server_options

F = TypeVar("F", bound=Callable[..., Any])


def _handler_policy(origin: str, environ: Mapping[str, Any]) -> bool:
    """The engine's origin policy: ask the handler serving the request."""
    handler = environ.get(HANDLER_KEY)
    checker = getattr(handler, "socketio_origin_allowed", None)
    if checker is None:  # not a SocketIOHandler: Tornado's default (same host)
        return False
    return bool(checker(origin))


class SocketIO(DeferredHandlers, AsyncServerMethods):
    """Socket.IO for a Tornado application.

    Keywords are server options (``ping_interval=10``) and win over the application's
    ``socketio_*`` settings.
    """

    def __init__(self, app: Any = None, **options: Any) -> None:
        if "async_mode" in options and options["async_mode"] != "tornado":
            raise ConfigurationError("async_mode is always 'tornado' under Tornado")
        unknown = sorted(set(options) - set(ServerOptions.option_names()))
        if unknown:
            raise TypeError(f"unknown server option(s): {', '.join(unknown)}")
        self._kwargs = options
        DeferredHandlers.__init__(self)
        self._server: AsyncServer | None = None
        self.app: Any = None
        self.options: ServerOptions | None = None
        #: the configured ``cors_allowed_origins`` (None: Tornado's ``trusted_origins``)
        self.allowed_origins: Any = None
        if app is not None:
            self.init_app(app)

    # -- setup ----------------------------------------------------------------------------

    def init_app(self, app: Any) -> None:
        """Read ``app.settings`` and build the server."""
        if self.app is not None:
            if self.app is app:
                return
            raise RuntimeError("this SocketIO is already bound to another application")
        options = server_options(app.settings, **self._kwargs)
        self.allowed_origins = options.cors_allowed_origins
        if options.cors_allowed_origins != []:  # [] = no CORS handling at all
            options.cors_allowed_origins = _handler_policy
        self.options = options
        server = AsyncServer(**options.server_kwargs())
        self._replay_handlers(server)
        self._server = server
        self.app = app

    def server_for(self, app: Any) -> AsyncServer:
        """The server, built from ``app``'s settings on first use."""
        if self._server is None:
            self.init_app(app)
        return self.server

    @property
    def server(self) -> AsyncServer:
        """The ``AsyncServer`` (after ``init_app`` or the first request)."""
        if self._server is None:
            raise RuntimeError("SocketIO.init_app(app) has not been called yet")
        return self._server

    def route(self, path: str = "/socket.io/", handler_class: Any = None) -> tuple[Any, ...]:
        """The ``Application`` rule of the endpoint: ``(path, handler_class, {"socketio":
        self})``; ``handler_class`` defaults to :class:`SocketIOHandler`."""
        if handler_class is None:
            from .handlers import SocketIOHandler

            handler_class = SocketIOHandler
        return ("/" + path.strip("/") + "/", handler_class, {"socketio": self})

    async def startup(self) -> None:
        """Start the server's background work (heartbeats, the manager) now."""
        await self.server.startup()

    async def shutdown(self) -> None:
        """Disconnect every client and stop the background work."""
        if self._server is not None:
            await self._server.shutdown()

    # -- handlers -------------------------------------------------------------------------

    def _wrap_connect(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return HostConnectHandler(func, get_handshake, _tornado_refusal)

    # -- what handlers use ----------------------------------------------------------------

    def handshake(self, sid: str, namespace: str | None = None) -> Handshake:
        """The opening request of ``sid``'s connection: headers, user, signed cookies."""
        environ = self.server.get_environ(sid, namespace)
        if environ is None:
            raise KeyError(f"no connected client {sid!r} in namespace {namespace or '/'!r}")
        return get_handshake(environ)

    def get_handshake(self, environ: dict[str, Any]) -> Handshake:
        """The handshake of a connection, from the environ a ``connect`` handler receives."""
        return get_handshake(environ)


def _tornado_refusal(exc: Exception) -> Refused | None:
    """Tornado's ``HTTPError`` refuses the connection with its status and a message.

    For a refusal (4xx) the message is the ``log_message`` (documented: ``HTTPError(401,
    "log in first")`` tells the client why) or the reason. A server error (5xx) is what
    Tornado means by a log message: details of a failure. The client then gets only the
    reason phrase and the detail goes to the log at WARNING, as Tornado itself does.
    """
    from tornado.web import HTTPError

    if not isinstance(exc, HTTPError):
        return None
    detail = exc.log_message or ""
    if detail and exc.args:
        detail = detail % exc.args
    status = exc.status_code
    if status >= 500:
        _logger.warning("connect refused with HTTP %d: %s", status, detail or exc.reason)
        return Refused(exc.reason or _phrase(status), {"status": status})
    return Refused(detail or exc.reason or _phrase(status), {"status": status})


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


_logger = limit_warnings(logging.getLogger("sio_integrations.tornado"))
