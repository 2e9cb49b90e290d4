"""``SocketIO``: Socket.IO as a Sanic extension (``SocketIO(app)`` or ``init_app(app)``).

``init_app`` reads ``app.config.SOCKETIO_*``, builds the ``AsyncServer`` (async mode
``"sanic"``), routes the Engine.IO endpoint (long-polling and websocket), keeps itself on
``app.ctx.socketio`` and ties the server's background work to the app's lifecycle:
``before_server_start`` starts it, ``before_server_stop`` disconnects every client and
stops it (before the server waits for open requests to finish, so pending long-polling
requests are answered at once instead of holding up a graceful shutdown). Each Sanic
worker process imports the app and gets its own server; with ``SOCKETIO_MESSAGE_QUEUE``
the workers' servers share emits and rooms through the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..errors import ConfigurationError
from ..errors import ConnectionRefusedError as Refused
from ..handshake import Handshake
from ..options import ServerOptions
from ..runtime._async.server import AsyncServer
from ..runtime.plugin_support import AsyncServerMethods, DeferredHandlers, HostConnectHandler
from .bridge import get_handshake
from .config import PREFIX, config_options, plugin_setting, server_options
from .cors import OriginPolicy, sanic_ext_cors, strip_engine_cors

F = TypeVar("F", bound=Callable[..., Any])

#: every method reaches the engine, which answers Engine.IO's own errors (PUT -> 400)
METHODS = ("GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH")
#: the websocket frame limit of the host stays above the engine's own message limit, so
#: the engine (not Sanic) refuses an oversized message with Engine.IO's reason
WEBSOCKET_SLACK = 65536


class SocketIO(DeferredHandlers, AsyncServerMethods):
    """Socket.IO for a Sanic application.

    ``SocketIO(app, **options)`` or ``socketio = SocketIO(); socketio.init_app(app)``.
    Keywords are server options (``ping_interval=10``, ``cors_allowed_origins=[...]``)
    and win over ``app.config.SOCKETIO_*``; ``path`` (or ``SOCKETIO_PATH``) is where the
    endpoint is mounted. ``user_attr`` / ``session_attr`` name the ``request.ctx``
    attributes that become :attr:`Handshake.user` / :attr:`Handshake.session`.
    """

    def __init__(self, app: Any = None, *, path: str | None = None, user_attr: str = "user",
                 session_attr: str = "session", **options: Any) -> None:
        if "async_mode" in options and options["async_mode"] != "sanic":
            raise ConfigurationError("async_mode is always 'sanic' under Sanic")
        unknown = sorted(set(options) - set(ServerOptions.option_names()))
        if unknown:
            raise TypeError(f"unknown server option(s): {', '.join(unknown)}")
        self._kwargs = options
        self._path = path
        self.user_attr = user_attr
        self.session_attr = session_attr
        DeferredHandlers.__init__(self)
        self._server: AsyncServer | None = None
        self._config_seen: dict[str, Any] = {}
        self.app: Any = None
        self.options: ServerOptions | None = None
        self.path = "/socket.io"
        if app is not None:
            self.init_app(app)

    # -- setup ----------------------------------------------------------------------------

    def init_app(self, app: Any) -> None:
        """Read ``app.config``, build the server and mount the endpoint on ``app``."""
        if self.app is not None:
            raise RuntimeError("this SocketIO is already bound to an application")
        self._config_seen = config_options(app.config)
        options = server_options(app.config, **self._kwargs)
        explicit = "cors_allowed_origins" in self._kwargs or (
            PREFIX + "CORS_ALLOWED_ORIGINS") in self._config_seen
        if options.cors_allowed_origins != []:  # [] = no CORS handling at all
            options.cors_allowed_origins = OriginPolicy(options.cors_allowed_origins,
                                                        explicit=explicit)
        self.options = options
        server = AsyncServer(**options.server_kwargs())
        self._replay_handlers(server)
        self._server = server
        self.app = app
        path = self._path or plugin_setting(app.config, "PATH")
        self.path = "/" + str(path).strip("/")
        limit = options.max_http_buffer_size + WEBSOCKET_SLACK
        if (app.config.get("WEBSOCKET_MAX_SIZE") or 0) < limit:
            app.config.WEBSOCKET_MAX_SIZE = limit
        app.enable_websocket()
        app.add_route(self._endpoint_handler(), self.path + "/", methods=list(METHODS),
                      name="socketio")
        app.before_server_start(self._startup)
        app.before_server_stop(self._shutdown)
        app.ctx.socketio = self

    @property
    def server(self) -> AsyncServer:
        """The ``AsyncServer`` (after ``init_app``)."""
        if self._server is None:
            raise RuntimeError("SocketIO.init_app(app) has not been called yet")
        return self._server

    async def _startup(self, app: Any) -> None:
        seen = config_options(app.config)
        changed = sorted(k for k in set(seen) | set(self._config_seen)
                         if seen.get(k) != self._config_seen.get(k))
        if changed:
            raise ConfigurationError(
                f"{', '.join(changed)} changed after SocketIO(app) read app.config: "
                "configure Socket.IO before creating the extension")
        await self.server.startup()

    async def _shutdown(self, app: Any) -> None:
        await self.server.shutdown()

    def _endpoint_handler(self) -> Callable[[Any], Awaitable[Any]]:
        async def socketio_endpoint(request: Any) -> Any:
            response = await self.server.handle_request(request)
            settings = sanic_ext_cors(request.app)
            if settings is not None and response is not None:
                strip_engine_cors(response, settings)
            return response

        # a websocket session ends without an HTTP response: Sanic accepts that from
        # handlers marked as websocket handlers (long-polling still returns responses)
        socketio_endpoint.is_websocket = True  # type: ignore[attr-defined]
        return socketio_endpoint

    # -- handlers -------------------------------------------------------------------------

    def _wrap_connect(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return HostConnectHandler(func, self.get_handshake, _sanic_refusal)

    # -- what handlers use ----------------------------------------------------------------

    def handshake(self, sid: str, namespace: str | None = None) -> Handshake:
        """The opening request of ``sid``'s connection: headers, user, session, ctx."""
        environ = self.server.get_environ(sid, namespace)
        if environ is None:
            raise KeyError(f"no connected client {sid!r} in namespace {namespace or '/'!r}")
        return get_handshake(environ, user_attr=self.user_attr, session_attr=self.session_attr)

    def get_handshake(self, environ: dict[str, Any]) -> Handshake:
        """The handshake of a connection, from the environ a ``connect`` handler receives."""
        return get_handshake(environ, user_attr=self.user_attr, session_attr=self.session_attr)


def _sanic_refusal(exc: Exception) -> Refused | None:
    """A Sanic HTTP exception refuses the connection with its message and status."""
    from sanic.exceptions import SanicException

    if not isinstance(exc, SanicException):
        return None
    status = int(getattr(exc, "status_code", 500) or 500)
    return Refused(str(exc) or type(exc).__name__, {"status": status})
