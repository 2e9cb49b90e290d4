"""The asyncio simple client (source of the generated ``SimpleClient``): no handlers.

Events from the server are queued and read with ``receive()``. The client underneath
reconnects and buffers emits like ``AsyncClient``.
"""

from __future__ import annotations

import collections
from typing import Any

from ...errors import AckTimeoutError as TimeoutError  # noqa: A004
from ...errors import DisconnectedError
from .client import AsyncClient


class AsyncSimpleClient:
    """``connect``, ``emit``, ``call``, ``receive`` and ``disconnect``, one namespace.

    Constructor arguments are the ``AsyncClient`` options.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.client_args = args
        self.client_kwargs = kwargs
        self.client: AsyncClient | None = None
        self.namespace = "/"
        self._events: collections.deque[list[Any]] = collections.deque()
        self._arrived: Any = None

    async def connect(self, url: Any, headers: Any = None, auth: Any = None,
                      transports: str | list[str] | None = None, namespace: str = "/",
                      socketio_path: str = "socket.io", wait_timeout: float = 5) -> None:
        """Connect to ``url`` and join ``namespace``; raises ``ConnectionError``."""
        if self.client is not None and self.client.connected:
            raise RuntimeError("Already connected")
        self.namespace = namespace
        client = AsyncClient(*self.client_args, **self.client_kwargs)
        self.client = client
        self._events.clear()
        self._arrived = client.backend.event()

        def on_any(event: str, *args: Any) -> None:
            self._events.append([event, *args])
            self._arrived.set()

        def on_change(*args: Any) -> None:
            self._arrived.set()  # wake receive() to notice a disconnection

        client.on("*", on_any, namespace=namespace)
        client.on("disconnect", on_change, namespace=namespace)
        client.on("connect_error", on_change, namespace=namespace)
        await client.connect(url, headers=headers, auth=auth, transports=transports,
                             namespaces=[namespace], socketio_path=socketio_path,
                             wait_timeout=wait_timeout)

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise DisconnectedError("not connected")
        return self.client

    @property
    def sid(self) -> str | None:
        """The sid of this client in its namespace."""
        return self.client.get_sid(self.namespace) if self.client is not None else None

    @property
    def connected(self) -> bool:
        """Whether the namespace is connected now (False while reconnecting)."""
        return self.client is not None and self.namespace in self.client.namespaces

    @property
    def transport(self) -> str | None:
        """``'polling'`` or ``'websocket'``."""
        return self.client.transport() if self.client is not None else None

    def _check_alive(self) -> AsyncClient:
        client = self._client()
        if not client._running:
            raise DisconnectedError("disconnected")
        return client

    async def emit(self, event: str, data: Any = None) -> None:
        """Emit ``event``; buffered while the client is reconnecting."""
        await self._check_alive().emit(event, data, namespace=self.namespace)

    async def call(self, event: str, data: Any = None, timeout: float = 60) -> Any:
        """Emit and wait for the acknowledgement; raises ``TimeoutError``."""
        return await self._check_alive().call(event, data, namespace=self.namespace,
                                              timeout=timeout)

    async def receive(self, timeout: float | None = None) -> list[Any]:
        """The next event from the server as ``[name, *args]``.

        Raises ``TimeoutError`` when none arrives within ``timeout`` seconds, and
        ``DisconnectedError`` once the client is disconnected for good.
        """
        client = self._client()
        deadline = None if timeout is None else client.backend.monotonic() + timeout
        try:
            while True:
                self._arrived.clear()
                if self._events:
                    return self._events.popleft()
                if not client._running:
                    raise DisconnectedError("disconnected")
                left = 3600.0 if deadline is None else deadline - client.backend.monotonic()
                if left <= 0:
                    raise TimeoutError()
                await client.backend.wait_event(self._arrived, min(left, 3600.0))
        except (TimeoutError, DisconnectedError):
            raise
        except BaseException:  # interrupted (Ctrl-C, cancelled): leave nothing running
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Disconnect from the server (idempotent)."""
        if self.client is not None:
            await self.client.disconnect()

    async def __aenter__(self) -> AsyncSimpleClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()
