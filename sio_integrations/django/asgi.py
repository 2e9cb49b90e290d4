"""Socket.IO for a plain ASGI Django project (no Channels).

``asgi.py``::

    from sio_integrations.django.asgi import get_asgi_application

    application = get_asgi_application()

The project's server answers under ``SOCKETIO["PATH"]``; everything else goes to Django's
own ASGI handler. The user and session are read from the session cookie (bridge.py).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..runtime._async.server import AsyncServer
from ..runtime.asgi import ASGIApp, Receive, Scope, Send
from .consumers import serving
from .routing import socketio_path
from .server import sio


class _ProjectServerApp:
    """What ``ASGIApp`` calls: the project's current server (rebuilt after a reset)."""

    def __init__(self) -> None:
        server = sio.server
        if not isinstance(server, AsyncServer):
            raise ConfigurationError("get_asgi_application() needs SOCKETIO['ASYNC_MODE'] "
                                     f"'asgi' (or unset), not {server.async_mode!r}")

    async def handle_request(self, scope: Scope, receive: Receive, send: Send) -> Any:
        server = sio.server
        assert isinstance(server, AsyncServer)
        serving.add(server)
        return await server.handle_request(scope, receive, send)


def get_asgi_application(django_app: Any = None, **asgi_options: Any) -> ASGIApp:
    """Django's ASGI application (or ``django_app``) with Socket.IO at its path.

    ``asgi_options`` go to :class:`~sio_integrations.ASGIApp` (``static_files``,
    ``on_startup``, ``on_shutdown``; by default the lifespan starts and shuts down the
    server).
    """
    if django_app is None:
        from django.core.asgi import get_asgi_application as django_asgi

        django_app = django_asgi()
    # Django's handler refuses lifespan events: the server's services start and stop here
    asgi_options.setdefault("on_startup", _startup)
    asgi_options.setdefault("on_shutdown", _shutdown)
    return ASGIApp(_ProjectServerApp(), django_app, socketio_path=socketio_path(),
                   **asgi_options)


async def _startup() -> None:
    server = sio.server
    assert isinstance(server, AsyncServer)
    await server.startup()


async def _shutdown() -> None:
    server = sio.server
    assert isinstance(server, AsyncServer)
    await server.shutdown()
