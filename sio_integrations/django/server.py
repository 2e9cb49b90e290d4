"""The project's one Socket.IO server, built from ``settings.SOCKETIO`` when first used.

``sio`` is what ``sockets.py`` modules decorate. It records registrations and builds the
real server (``AsyncServer`` for ASGI/Channels, ``Server`` when ``ASYNC_MODE`` is a
synchronous mode) at first use, wrapping every handler for Django (see handlers.py). When
``SOCKETIO`` or a setting it depends on changes (``override_settings``), the next use
builds a fresh server with the same handlers. Every other attribute (``emit``,
``enter_room``, ``get_session``, ``handle_request``, ...) is the built server's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..runtime._async.server import AsyncServer
from ..runtime._sync.server import Server
from ..runtime.handlers import event_decorator
from . import conf, handlers
from .origins import DjangoOriginPolicy

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("sio_integrations.django")


class ProjectServer:
    """Handlers registered once, a server built from the settings on demand."""

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Callable[..., Any], str]] = []
        self._namespaces: list[Any] = []
        self._server: AsyncServer | Server | None = None
        self._lock = threading.RLock()
        self._listeners: list[Callable[[AsyncServer | Server], None]] = []

    # -- registration (recorded, then applied to every server built) -------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register a handler (``@sio.on("chat", namespace="/room")``)."""
        ns = namespace or "/"

        def register(func: F) -> F:
            with self._lock:
                self._handlers.append((event, func, ns))
                if self._server is not None:
                    self._apply_handler(self._server, event, func, ns)
            return func

        if handler is None:
            return register
        register(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register a handler named after the function (``@sio.event``)."""
        return event_decorator(self.on, args, kwargs)

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (``sio_integrations.django.Namespace``)."""
        with self._lock:
            self._namespaces.append(namespace_handler)
            if self._server is not None and self._fits(self._server, namespace_handler):
                self._server.register_namespace(namespace_handler)

    def on_build(self, listener: Callable[[AsyncServer | Server], None]) -> None:
        """Call ``listener(server)`` for every server built (also the current one)."""
        with self._lock:
            self._listeners.append(listener)
            if self._server is not None:
                listener(self._server)

    # -- the built server --------------------------------------------------------------

    @property
    def server(self) -> AsyncServer | Server:
        """The server for the current settings (built on first use)."""
        current = self._server
        if current is not None:
            return current
        with self._lock:
            if self._server is None:
                self._server = self._build()
            return self._server

    @property
    def built(self) -> bool:
        """Whether a server exists for the current settings."""
        return self._server is not None

    def reset(self) -> None:
        """Forget the built server; the next use builds one from the settings again.

        Clients of the old server stay connected to it; a host that reloads settings at
        run time should restart instead.
        """
        with self._lock:
            self._server = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.server, name)

    def __repr__(self) -> str:
        state = type(self._server).__name__ if self._server is not None else "not built"
        return f"<sio_integrations.django.sio ({state})>"

    # -- building ------------------------------------------------------------------------

    def _build(self) -> AsyncServer | Server:
        from .scaleout import client_manager

        options = conf.server_options()
        overrides: dict[str, Any] = {}
        if "cors_allowed_origins" not in conf.option_values():
            overrides["cors_allowed_origins"] = DjangoOriginPolicy()
        if options.client_manager is None:
            manager = client_manager(is_async=conf.is_async_mode(options.async_mode),
                                     options=options)
            if manager is not None:
                overrides["client_manager"] = manager
        if overrides:
            options = conf.server_options(**overrides)
        kwargs = options.server_kwargs()
        server: AsyncServer | Server
        if conf.is_async_mode(options.async_mode):
            server = AsyncServer(**kwargs)
        else:
            server = Server(**kwargs)
        for event, func, ns in self._handlers:
            self._apply_handler(server, event, func, ns)
        self._default_connects(server)
        for namespace_handler in self._namespaces:
            if self._fits(server, namespace_handler):
                server.register_namespace(namespace_handler)
        for listener in self._listeners:
            listener(server)
        logger.debug("built %s (async_mode %s)", type(server).__name__, server.async_mode)
        return server

    def mismatched_namespaces(self, is_async: bool) -> list[Any]:
        """Registered namespace objects a server of that kind cannot use."""
        return [n for n in self._namespaces if n.is_asyncio_based() != is_async]

    @staticmethod
    def _fits(server: AsyncServer | Server, namespace_handler: Any) -> bool:
        fits = bool(namespace_handler.is_asyncio_based() == server.is_asyncio_based())
        if not fits:
            # reported by the system check sio_integrations.W004
            logger.warning("%s is not registered: it is for the %s server", namespace_handler,
                           "asyncio" if namespace_handler.is_asyncio_based() else "synchronous")
        return fits

    def _apply_handler(self, server: AsyncServer | Server, event: str,
                       func: Callable[..., Any], ns: str) -> None:
        wrap = handlers.wrap_async if isinstance(server, AsyncServer) else handlers.wrap_sync
        server.on(event, wrap(func, event, ns, lambda: server), namespace=ns)

    def _default_connects(self, server: AsyncServer | Server) -> None:
        """Namespaces without a ``connect`` handler still record their connections (for
        ``get_user`` in ``disconnect``); a catch-all ``connect`` records them all."""
        with_connect = {ns for event, _, ns in self._handlers if event == "connect"}
        if "*" in with_connect:
            return
        namespaces = {ns for _, _, ns in self._handlers if ns != "*"}
        with_connect |= {getattr(n, "namespace", None) or "/" for n in self._namespaces}
        default: Callable[..., Any] = (handlers.aremember_connect
                                       if isinstance(server, AsyncServer)
                                       else handlers.remember_connect)
        for ns in sorted(namespaces - with_connect):
            self._apply_handler(server, "connect", default, ns)


#: the project's server: decorate handlers in your apps' ``sockets.py`` modules
sio = ProjectServer()
