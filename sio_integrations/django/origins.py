"""Which browser origins may use the Socket.IO endpoint: one answer for both transports.

The policy is a callable ``(origin, environ) -> bool`` given to the server as
``cors_allowed_origins``, so the engine applies it to long-polling requests and websocket
handshakes alike. In order of precedence:

1. ``SOCKETIO["CORS_ALLOWED_ORIGINS"]``, when set, is the engine's own policy (see
   docs/server.md): ``None`` same origin, ``"*"``, a list, a callable.
2. Otherwise an origin is allowed when its host is in ``ALLOWED_HOSTS`` (the rule of
   Channels' ``AllowedHostsOriginValidator``, so routing behind it never disagrees), or,
   with django-cors-headers installed, when its settings allow it
   (``CORS_ALLOW_ALL_ORIGINS``, ``CORS_ALLOWED_ORIGINS``, ``CORS_ALLOWED_ORIGIN_REGEXES``).

Requests without an ``Origin`` header (non-browser clients) are always allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

CORSHEADERS_APP = "corsheaders"


def corsheaders_installed() -> bool:
    """Whether django-cors-headers is in ``INSTALLED_APPS``."""
    from django.apps import apps

    return bool(apps.is_installed(CORSHEADERS_APP))


def allowed_hosts() -> list[str]:
    """``ALLOWED_HOSTS`` as Django's request validation sees it (DEBUG adds localhost)."""
    from django.conf import settings

    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def host_allowed(origin: str) -> bool:
    """Whether the origin's host matches ``ALLOWED_HOSTS``."""
    from django.http.request import validate_host

    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return False
    if not parts.scheme or not host:
        return False
    if ":" in host:  # an IPv6 literal: ALLOWED_HOSTS writes it in brackets
        host = f"[{host}]"
    return bool(validate_host(host, allowed_hosts()))


def corsheaders_allowed(origin: str) -> bool:
    """Whether django-cors-headers' settings allow ``origin`` (False when not installed)."""
    if not corsheaders_installed():
        return False
    from corsheaders.conf import conf

    if conf.CORS_ALLOW_ALL_ORIGINS:
        return True
    if origin in conf.CORS_ALLOWED_ORIGINS:
        return True
    return any(re.match(pattern, origin) for pattern in conf.CORS_ALLOWED_ORIGIN_REGEXES)


def corsheaders_credentials() -> bool | None:
    """``CORS_ALLOW_CREDENTIALS`` of django-cors-headers, or None when not installed."""
    if not corsheaders_installed():
        return None
    from corsheaders.conf import conf

    return bool(conf.CORS_ALLOW_CREDENTIALS)


def origin_allowed(origin: str, environ: Mapping[str, Any] | None = None) -> bool:
    """The Django policy (used when ``SOCKETIO`` does not set ``CORS_ALLOWED_ORIGINS``)."""
    return host_allowed(origin) or corsheaders_allowed(origin)


class DjangoOriginPolicy:
    """``cors_allowed_origins`` for the project's server: the Django policy above.

    A class rather than a function so that logs and checks can recognise it.
    """

    def __call__(self, origin: str, environ: Mapping[str, Any]) -> bool:
        return origin_allowed(origin, environ)

    def __repr__(self) -> str:
        return "<Django origin policy: ALLOWED_HOSTS + django-cors-headers>"
