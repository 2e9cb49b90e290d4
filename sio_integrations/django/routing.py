"""URL patterns of the Engine.IO endpoint, for Channels' ``URLRouter``.

``asgi.py`` of a project::

    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.core.asgi import get_asgi_application
    from django.urls import re_path

    django_app = get_asgi_application()
    from sio_integrations.django.routing import socketio_urlpatterns  # after setup

    application = ProtocolTypeRouter({
        "http": URLRouter([
            *socketio_urlpatterns(AuthMiddlewareStack),
            re_path(r"", django_app),
        ]),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(socketio_urlpatterns()))),
    })
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from ..runtime.asgi import Receive, Scope, Send
from . import conf
from .consumers import SocketIOConsumer


def socketio_path(path: str | None = None) -> str:
    """The endpoint's path without slashes (``SOCKETIO["PATH"]``, ``"socket.io"``)."""
    return str(path if path is not None else conf.django_setting("PATH")).strip("/")


def socketio_urlpatterns(middleware: Callable[[Any], Any] | None = None, *,
                         path: str | None = None) -> list[Any]:
    """The endpoint's URL patterns (one ``re_path``), for the http and websocket routers.

    ``middleware`` wraps the consumer (``AuthMiddlewareStack`` in the ``"http"`` router,
    so that long-polling connections get ``scope["user"]`` and ``scope["session"]`` too
    without wrapping the Django application). It runs for the request that opens a
    connection only: the server keeps that request's scope, and the long-polling requests
    that follow (one every few seconds per client) skip the session and user queries.
    """
    from django.urls import re_path

    consumer = SocketIOConsumer.as_asgi()
    app: Any = consumer
    if middleware is not None:
        app = HandshakeMiddleware(middleware(consumer), consumer)
    pattern = rf"^{re.escape(socketio_path(path))}/$"
    return [re_path(pattern, app, name="socketio")]


class HandshakeMiddleware:
    """Runs ``with_middleware`` for requests opening a connection (no ``sid`` in the
    query), ``without`` for the requests of an existing Engine.IO session."""

    def __init__(self, with_middleware: Any, without: Any) -> None:
        self.with_middleware = with_middleware
        self.without = without

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string") or b""
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if "sid" in parse_qs(query):
            await self.without(scope, receive, send)
        else:
            await self.with_middleware(scope, receive, send)


def socketio_application(django_app: Any, *, path: str | None = None) -> Any:
    """The whole ``ProtocolTypeRouter`` of a project that only adds Socket.IO.

    Socket.IO on both protocols behind ``AuthMiddlewareStack``, everything else of HTTP
    to ``django_app``. No ``AllowedHostsOriginValidator``: the server applies the
    project's origin policy (origins.py) to websocket handshakes as to long-polling, and
    unlike the validator it lets non-browser clients (no ``Origin`` header) in.
    """
    conf.require_channels("socketio_application()")
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import re_path

    websocket: Any = AuthMiddlewareStack(URLRouter(socketio_urlpatterns(path=path)))
    return ProtocolTypeRouter({
        "http": URLRouter([
            *socketio_urlpatterns(AuthMiddlewareStack, path=path),
            re_path(r"", django_app),
        ]),
        "websocket": websocket,
    })
