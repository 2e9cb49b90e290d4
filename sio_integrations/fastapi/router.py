"""``SocketIORouter``: Socket.IO as a FastAPI ``APIRouter``.

``app.include_router(router)`` adds the Engine.IO endpoint (long-polling and websocket) at
the router's path, out of the OpenAPI schema, and ties the server to the application's
lifespan (FastAPI merges an included router's lifespan into the app's).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, params
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..runtime._async.server import AsyncServer
from ..runtime.asgi import Receive, Scope, Send
from ..runtime.handlers import event_decorator
from ..runtime.logs import limit_warnings
from . import asyncapi
from .bridge import HEADERS_KEY
from .config import server_options
from .handlers import CatchAllConnect, ConnectHandler, EventHandler

F = TypeVar("F", bound=Callable[..., Any])
# (rate-limited: a foreign page can make many browsers send refused requests)
logger = limit_warnings(logging.getLogger("sio_integrations.fastapi"))

_FORBIDDEN = b'{"code":4,"message":"Forbidden"}'


class SocketIORouter(APIRouter):
    """An ``APIRouter`` serving Socket.IO at ``path``.

    Keyword arguments that are server options (``ping_interval``,
    ``cors_allowed_origins``, ``client_manager``, ...) configure the server, which is
    available as ``router.sio``. ``dependencies`` guard every namespace's connection;
    ``asyncapi_url`` (relative to the router, ``None`` to disable) serves the AsyncAPI
    document of the registered events.
    """

    def __init__(
        self,
        *,
        path: str = "/socket.io",
        prefix: str = "",
        dependencies: Sequence[params.Depends] | None = None,
        tags: list[Any] | None = None,
        asyncapi_url: str | None = "/asyncapi.json",
        asyncapi_title: str | None = None,
        asyncapi_version: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(prefix=prefix, tags=tags, dependencies=dependencies,
                         lifespan=self._lifespan)
        # not ``self.options``: that is APIRouter's OPTIONS-route decorator
        self.server_options = server_options(**options)
        self._explicit_cors = "cors_allowed_origins" in options
        self.sio = AsyncServer(**self.server_options.server_kwargs())
        self.socketio_path = "/" + path.strip("/")
        self.asyncapi_title = asyncapi_title
        self.asyncapi_version = asyncapi_version
        self.catalog = asyncapi.Catalog()
        self._connect: dict[str, ConnectHandler] = {}
        self._cors_app: Any = None
        self._cors_policy: CORSMiddleware | None = None
        endpoint = _EngineEndpoint(self)
        engine_path = self.prefix + self.socketio_path + "/"
        # an ASGI app as endpoint: every method reaches the engine, which answers them all
        # (Starlette runs a non-function endpoint as an ASGI app; the stubs only know
        # request handlers)
        self.add_route(engine_path, endpoint,  # type: ignore[arg-type]
                       include_in_schema=False, name="socketio")
        self.add_websocket_route(engine_path, endpoint,  # type: ignore[arg-type]
                                 name="socketio_ws")
        if asyncapi_url is not None:
            self.add_route(self.prefix + asyncapi_url, self._asyncapi_endpoint,
                           methods=["GET"], include_in_schema=False, name="asyncapi")
        self._guard("/")
        if self.dependencies:
            # namespaces without handlers (the ``namespaces`` option) are guarded as well
            self.sio.on("connect", CatchAllConnect(self.sio, self.dependencies), namespace="*")

    # -- registering handlers -----------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register a handler (``@router.on("chat", namespace="/room")``).

        Handlers may declare FastAPI dependencies and Pydantic-annotated arguments. The
        catch-all forms (event or namespace ``"*"``) are registered as they are.
        """
        ns = namespace or "/"

        def register(func: F) -> F:
            if event == "connect" and ns != "*":
                self._guard(ns, func)
            elif event in ("*", "disconnect") or ns == "*":
                self.sio.on(event, func, namespace=ns)
                self._guard(ns)
            else:
                wrapped = EventHandler(self.sio, ns, event, func)
                self.sio.on(event, wrapped, namespace=ns)
                self.catalog.add_event(ns, event, wrapped)
                self._guard(ns)
            return func

        if handler is None:
            return register
        register(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register a handler named after the function (``@router.event``)."""
        return event_decorator(self.on, args, kwargs)

    def emits(self, event: str, payload: Any = Any, namespace: str | None = None,
              description: str | None = None) -> None:
        """Document an event the server sends (it appears in the AsyncAPI document)."""
        self.catalog.add_emit(namespace or "/", event, payload, description)

    def _guard(self, namespace: str, func: Callable[..., Any] | None = None) -> None:
        """Install (or replace) the namespace's connect handler running the guards."""
        if namespace == "*":
            return
        if func is None and namespace in self._connect:
            return
        handler = ConnectHandler(self.sio, namespace, self.dependencies, func)
        self._connect[namespace] = handler
        self.sio.on("connect", handler, namespace=namespace)
        self.catalog.add_namespace(namespace, handler)

    # -- dependencies for HTTP endpoints ----------------------------------------------

    def get_server(self) -> AsyncServer:
        """Dependency giving the server: ``sio: AsyncServer = Depends(router.get_server)``."""
        return self.sio

    # -- lifespan -------------------------------------------------------------------------

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[None]:
        self.cors_policy(app)
        await self.sio.startup()
        try:
            yield None
        finally:
            await self.sio.shutdown()

    # -- CORS -----------------------------------------------------------------------------

    def cors_policy(self, app: Any) -> CORSMiddleware | None:
        """The application's ``CORSMiddleware`` (it owns CORS when present), else None."""
        if app is self._cors_app:
            return self._cors_policy
        policy = None
        for entry in getattr(app, "user_middleware", ()):
            cls = getattr(entry, "cls", None)
            if isinstance(cls, type) and issubclass(cls, CORSMiddleware):
                policy = cls(_no_app, *entry.args, **entry.kwargs)
        if policy is not None and self._explicit_cors:
            logger.warning("the application's CORSMiddleware decides CORS for Socket.IO; "
                           "cors_allowed_origins of the router is ignored")
        self._cors_app, self._cors_policy = app, policy
        return policy

    # -- AsyncAPI -------------------------------------------------------------------------

    def asyncapi(self, app: Any = None) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of this router's namespaces and events."""
        title = self.asyncapi_title or getattr(app, "title", None) or "Socket.IO API"
        version = self.asyncapi_version or getattr(app, "version", None) or "0.1.0"
        return self.catalog.document(title=title, version=version,
                                     path=self.prefix + self.socketio_path + "/")

    async def _asyncapi_endpoint(self, request: Request) -> JSONResponse:
        return JSONResponse(self.asyncapi(request.scope.get("app")))


class _EngineEndpoint:
    """The ASGI app behind the router's Engine.IO route."""

    def __init__(self, router: SocketIORouter) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = self.router.cors_policy(scope.get("app"))
        if policy is not None:
            headers = scope.get("headers", [])
            origin = next((v.decode("latin-1") for k, v in headers if k == b"origin"), None)
            if origin is not None:
                if not policy.is_allowed_origin(origin):
                    logger.warning("refused a Socket.IO request from origin %s", origin)
                    await _forbidden(scope, receive, send)
                    return
                # the middleware adds the CORS headers of HTTP responses: the engine must
                # not see the Origin, or it would add a second set
                scope = dict(scope)
                scope[HEADERS_KEY] = headers
                scope["headers"] = [(k, v) for k, v in headers if k != b"origin"]
        await self.router.sio.handle_request(scope, receive, send)


async def _forbidden(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": _FORBIDDEN})


async def _no_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """CORSMiddleware needs an app; we only use its origin policy."""
