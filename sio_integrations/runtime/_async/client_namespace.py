"""Class-based namespaces for the asyncio client (source of the generated ``ClientNamespace``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..sockets import positional_capacity

if TYPE_CHECKING:
    from .client import AsyncClient


class AsyncClientNamespace:
    """Client handlers grouped in a class: method ``on_<event>`` handles ``<event>``.

    Register with ``sio.register_namespace(MyNamespace('/chat'))``. ``on_connect()``,
    ``on_connect_error(data)`` and ``on_disconnect([reason])`` are the lifecycle events.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.client: AsyncClient | None = None

    def _set_client(self, client: AsyncClient) -> None:
        self.client = client

    def is_asyncio_based(self) -> bool:
        """True for ``AsyncClientNamespace``, False for the generated ``ClientNamespace``."""
        return inspect.iscoroutinefunction(self.trigger_event)

    def _cli(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("namespace is not registered with a client")
        return self.client

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>`` if defined; returns its result (the acknowledgement)."""
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return None
        if event == "disconnect" and positional_capacity(handler) < len(args):
            args = args[:-1]  # legacy signature without the reason
        result = handler(*args)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def emit(self, event: str, data: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> None:
        """Emit to the server in this namespace (see ``AsyncClient.emit``)."""
        await self._cli().emit(event, data=data, namespace=namespace or self.namespace,
                               callback=callback)

    async def send(self, data: Any, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> None:
        """Send a ``message`` event in this namespace."""
        await self._cli().send(data, namespace=namespace or self.namespace, callback=callback)

    async def call(self, event: str, data: Any = None, namespace: str | None = None,
                   timeout: float = 60) -> Any:
        """Emit and wait for the server's acknowledgement (see ``AsyncClient.call``)."""
        return await self._cli().call(event, data=data, namespace=namespace or self.namespace,
                                      timeout=timeout)

    async def disconnect(self) -> None:
        """Disconnect the client (every namespace), like python-socketio."""
        await self._cli().disconnect()
