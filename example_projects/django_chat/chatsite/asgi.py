"""ASGI entry point: Django for pages, Channels routing for Socket.IO."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_app = ASGIStaticFilesHandler(get_asgi_application())  # pages + /static/

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from sio_integrations.django.routing import socketio_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    # long-polling: the Socket.IO consumer (with the Django user and session), then Django
    "http": URLRouter([
        *socketio_urlpatterns(AuthMiddlewareStack),
        re_path(r"", django_app),
    ]),
    "websocket": AllowedHostsOriginValidator(
        AuthMiddlewareStack(URLRouter(socketio_urlpatterns()))),
})
