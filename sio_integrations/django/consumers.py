"""The Engine.IO endpoint as a Channels consumer (long-polling and websocket).

Route it in ``asgi.py`` with ``socketio_urlpatterns()`` (routing.py), under both the
``"http"`` and the ``"websocket"`` entries of Channels' ``ProtocolTypeRouter``, behind
``AuthMiddlewareStack`` (and, for websockets, ``AllowedHostsOriginValidator``). The
consumer hands the connection, with the scope Channels' middlewares completed
(``scope["user"]``, ``scope["session"]``), to the project's server, which speaks ASGI
itself: no channel-layer round trip per packet.
"""

from __future__ import annotations

import weakref
from typing import Any

from ..errors import ConfigurationError
from ..runtime._async.server import AsyncServer
from ..runtime.asgi import Receive, Scope, Send
from .server import ProjectServer, sio

#: servers that handled a request in this process (emit() sends through them)
serving: weakref.WeakSet[Any] = weakref.WeakSet()


class SocketIOConsumer:
    """An ASGI application (Channels' ``as_asgi()`` convention) serving Socket.IO."""

    def __init__(self, project_server: ProjectServer | None = None) -> None:
        self.project_server = project_server if project_server is not None else sio

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> SocketIOConsumer:
        """The ASGI application to route (``re_path(..., SocketIOConsumer.as_asgi())``)."""
        return cls(**initkwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            raise ValueError(f"Socket.IO cannot serve an ASGI {scope['type']!r} connection")
        server = self.project_server.server
        if not isinstance(server, AsyncServer):
            raise ConfigurationError(
                "SOCKETIO['ASYNC_MODE'] must be 'asgi' (or unset) to serve Socket.IO "
                f"through Channels, not {server.async_mode!r}")
        serving.add(server)
        await server.handle_request(scope, receive, send)
