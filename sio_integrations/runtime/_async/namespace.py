"""Class-based namespaces for the asyncio server (source of the generated ``Namespace``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..sockets import positional_capacity

if TYPE_CHECKING:
    from .server import AsyncServer


class AsyncNamespace:
    """Handlers grouped in a class: method ``on_<event>`` handles ``<event>``.

    ``on_connect(sid, environ[, auth])`` and ``on_disconnect(sid[, reason])`` may use
    either signature. Register with ``sio.register_namespace(MyNamespace('/chat'))``.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.server: AsyncServer | None = None

    def _set_server(self, server: AsyncServer) -> None:
        self.server = server

    def is_asyncio_based(self) -> bool:
        """True for ``AsyncNamespace``, False for the generated ``Namespace``."""
        return inspect.iscoroutinefunction(self.trigger_event)

    def _srv(self) -> AsyncServer:
        if self.server is None:
            raise RuntimeError("namespace is not registered with a server")
        return self.server

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>`` if defined; returns its result (the acknowledgement)."""
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return None
        if event in ("connect", "disconnect") and positional_capacity(handler) < len(args):
            args = args[:-1]  # legacy signature without auth / reason
        result = handler(*args)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def emit(self, event: str, data: Any = None, to: Any = None, room: Any = None,
                   skip_sid: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None,
                   ignore_queue: bool = False) -> None:
        """Emit to clients of this namespace (see ``AsyncServer.emit``)."""
        await self._srv().emit(event, data=data, to=to, room=room, skip_sid=skip_sid,
                               namespace=namespace or self.namespace, callback=callback,
                               ignore_queue=ignore_queue)

    async def send(self, data: Any, to: Any = None, room: Any = None, skip_sid: Any = None,
                   namespace: str | None = None, callback: Callable[..., Any] | None = None,
                   ignore_queue: bool = False) -> None:
        """Send a ``message`` event to clients of this namespace."""
        await self._srv().send(data, to=to, room=room, skip_sid=skip_sid,
                               namespace=namespace or self.namespace, callback=callback,
                               ignore_queue=ignore_queue)

    async def call(self, event: str, data: Any = None, to: str | None = None,
                   sid: str | None = None, namespace: str | None = None,
                   timeout: float = 60, ignore_queue: bool = False) -> Any:
        """Emit to one client and wait for its acknowledgement."""
        return await self._srv().call(event, data=data, to=to, sid=sid,
                                      namespace=namespace or self.namespace,
                                      timeout=timeout, ignore_queue=ignore_queue)

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self._srv().enter_room(sid, room, namespace=namespace or self.namespace)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await self._srv().leave_room(sid, room, namespace=namespace or self.namespace)

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        await self._srv().close_room(room, namespace=namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self._srv().rooms(sid, namespace=namespace or self.namespace)

    async def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        return await self._srv().get_session(sid, namespace=namespace or self.namespace)

    async def save_session(self, sid: str, session: dict[str, Any],
                           namespace: str | None = None) -> None:
        await self._srv().save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        return self._srv().session(sid, namespace=namespace or self.namespace)

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        await self._srv().disconnect(sid, namespace=namespace or self.namespace)
