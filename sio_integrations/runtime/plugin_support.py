"""Pieces the asyncio host plugins (Sanic, Tornado) share: handler registration that may
come before the server exists, the server methods an extension object offers handlers, and
a ``connect`` wrapper that turns a host's HTTP exception into a refusal the client sees."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConnectionRefusedError as Refused
from .handlers import event_decorator
from .sockets import positional_capacity

if TYPE_CHECKING:
    from ._async.server import AsyncServer


F = TypeVar("F", bound=Callable[..., Any])


class DeferredHandlers:
    """``on`` / ``event`` / ``register_namespace`` on an extension object whose server is
    built later (``init_app``): registrations are kept and replayed by
    :meth:`_replay_handlers`. ``_wrap_connect`` lets a host wrap ``connect`` handlers."""

    _server: AsyncServer | None

    def __init__(self) -> None:
        self._deferred: list[Callable[[AsyncServer], None]] = []

    def _wrap_connect(self, func: Callable[..., Any]) -> Callable[..., Any]:
        return func

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register a handler (``@socketio.on("chat", namespace="/room")``).

        A ``connect`` handler may refuse the connection by raising the host's HTTP
        exception: the client's ``connect_error`` carries its message and
        ``{"status": ...}``. ``ConnectionRefusedError`` works as usual.
        """

        def register(func: F) -> F:
            target = self._wrap_connect(func) if event == "connect" else func
            self._defer(lambda server: server.on(event, target, namespace=namespace))
            return func

        if handler is None:
            return register
        register(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register a handler named after the function (``@socketio.event``)."""
        return event_decorator(self.on, args, kwargs)

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (``AsyncNamespace``)."""
        self._defer(lambda server: server.register_namespace(namespace_handler))

    def _defer(self, register: Callable[[AsyncServer], None]) -> None:
        if self._server is not None:
            register(self._server)
        else:
            self._deferred.append(register)

    def _replay_handlers(self, server: AsyncServer) -> None:
        for register in self._deferred:
            register(server)
        self._deferred.clear()


class AsyncServerMethods:
    """``AsyncServer``'s emitting, room and session methods, on an extension object whose
    ``server`` property returns the server."""

    @property
    def server(self) -> AsyncServer:
        raise NotImplementedError

    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        """``AsyncServer.emit``."""
        await self.server.emit(event, data, **kwargs)

    async def send(self, data: Any, **kwargs: Any) -> None:
        """``AsyncServer.send``."""
        await self.server.send(data, **kwargs)

    async def call(self, event: str, data: Any = None, **kwargs: Any) -> Any:
        """``AsyncServer.call``."""
        return await self.server.call(event, data, **kwargs)

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self.server.enter_room(sid, room, namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self.server.leave_room(sid, room, namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        await self.server.close_room(room, namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self.server.rooms(sid, namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        return await self.server.get_session(sid, namespace)

    async def save_session(self, sid: str, session: dict[str, Any],
                           namespace: str | None = None) -> None:
        await self.server.save_session(sid, session, namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """``async with socketio.session(sid) as session:``."""
        return self.server.session(sid, namespace)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        await self.server.disconnect(sid, namespace)


class HostConnectHandler:
    """Wraps a ``connect`` handler: ``prepare(environ)`` runs first (e.g. to build the
    handshake), legacy ``connect(sid, environ)`` signatures get two arguments, and an
    exception for which ``refusal(exc)`` returns a refusal is raised as that refusal."""

    def __init__(self, func: Callable[..., Any],
                 prepare: Callable[[dict[str, Any]], Any],
                 refusal: Callable[[Exception], Refused | None]) -> None:
        self.func = func
        self.prepare = prepare
        self.refusal = refusal
        self.capacity = positional_capacity(func)
        self.__name__ = getattr(func, "__name__", "connect")
        self.__doc__ = func.__doc__

    async def __call__(self, *args: Any) -> Any:
        # (sid, environ, auth), or (namespace, sid, environ, auth) for namespace="*"
        self.prepare(args[-2])
        if self.capacity < len(args):
            args = args[: self.capacity]
        try:
            result = self.func(*args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            refused = self.refusal(exc)
            if refused is None:
                raise
            raise refused from None
        return result
