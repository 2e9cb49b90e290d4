"""Pieces the asyncio host plugins (Sanic, Tornado) share: the server methods an extension
object offers handlers, and a ``connect`` wrapper that turns a host's HTTP exception into
a refusal the client sees."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConnectionRefusedError as Refused
from .sockets import positional_capacity

if TYPE_CHECKING:
    from ._async.server import AsyncServer


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
