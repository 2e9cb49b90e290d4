"""The test project's ASGI application, routed the way the docs tell users to."""

from __future__ import annotations

import os

from django.conf import settings

if not settings.configured:  # a real server; in-process tests configured Django already
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_plugin.project.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()  # sets Django up before the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from sio_integrations.django.routing import socketio_urlpatterns  # noqa: E402

if os.environ.get("SIO_TEST_MODE") == "asgi":  # plain ASGI Django, no Channels
    from sio_integrations.django.asgi import get_asgi_application as with_socketio

    application = with_socketio(django_app)
else:
    application = ProtocolTypeRouter({
        "http": URLRouter([
            *socketio_urlpatterns(AuthMiddlewareStack),
            re_path(r"", django_app),
        ]),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(socketio_urlpatterns()))),
    })
