"""Socket.IO for a WSGI Django project (the synchronous server).

``settings.py``: ``SOCKETIO = {"ASYNC_MODE": "threading"}`` (or ``"eventlet"``,
``"gevent"``). ``wsgi.py``::

    from sio_integrations.django.wsgi import get_wsgi_application

    application = get_wsgi_application()

Serve it with a WSGI server that keeps long requests and websockets open (gunicorn with
threads, eventlet or gevent workers). The user and session come from the session cookie.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..runtime._sync.server import Server
from ..runtime.wsgi import WSGIApp
from .consumers import serving
from .routing import socketio_path
from .server import sio


class _ProjectServerApp:
    """What ``WSGIApp`` calls: the project's current server."""

    def __init__(self) -> None:
        server = sio.server
        if not isinstance(server, Server):
            raise ConfigurationError(
                "get_wsgi_application() needs a synchronous SOCKETIO['ASYNC_MODE'] "
                f"('threading', 'eventlet', 'gevent'), not {server.async_mode!r}")

    def handle_request(self, environ: dict[str, Any], start_response: Any) -> Any:
        server = sio.server
        serving.add(server)
        return server.handle_request(environ, start_response)


def get_wsgi_application(django_app: Any = None, **wsgi_options: Any) -> WSGIApp:
    """Django's WSGI application (or ``django_app``) with Socket.IO at its path."""
    if django_app is None:
        from django.core.wsgi import get_wsgi_application as django_wsgi

        django_app = django_wsgi()
    return WSGIApp(_ProjectServerApp(), django_app, socketio_path=socketio_path(),
                   **wsgi_options)
