"""Socket.IO for Django: an app with Channels consumers (``INSTALLED_APPS`` label
``sio_integrations``).

    INSTALLED_APPS += ["sio_integrations.django"]

    # myapp/sockets.py (discovered at start-up, like admin.py)
    from sio_integrations.django import get_user, login_required, sio

    @sio.event
    @login_required
    def connect(sid, environ, auth):
        ...

See docs/django.md. Importing this package reads no settings and starts nothing.
"""

from .auth import login_required
from .broker import ChannelLayerBroker
from .consumers import SocketIOConsumer
from .context import (
    aget_user,
    asave_http_session,
    get_handshake,
    get_http_session,
    get_scope,
    get_user,
    save_http_session,
)
from .emitter import aemit, emit
from .namespace import Namespace
from .routing import socketio_application, socketio_urlpatterns
from .server import ProjectServer, sio

__all__ = [
    "ChannelLayerBroker",
    "Namespace",
    "ProjectServer",
    "SocketIOConsumer",
    "aemit",
    "aget_user",
    "asave_http_session",
    "emit",
    "get_handshake",
    "get_http_session",
    "get_scope",
    "get_user",
    "login_required",
    "save_http_session",
    "sio",
    "socketio_application",
    "socketio_urlpatterns",
]
