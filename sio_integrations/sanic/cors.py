"""Origin policy of the Socket.IO endpoint under Sanic.

When sanic-ext's CORS is configured (``CORS_ORIGINS`` set, so ``app.ctx.cors`` has allowed
origins), it is the policy of the Socket.IO endpoint too: a request whose ``Origin`` is
neither the page's own origin nor one of sanic-ext's is refused, on long-polling and on the
websocket handshake (browsers apply no CORS to websockets), and sanic-ext alone writes the
CORS headers of the responses. Otherwise the server's ``cors_allowed_origins`` applies
(same origin by default).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..protocol.engine.requests import origin_allowed

logger = logging.getLogger("sio_integrations.sanic")

#: CORS headers sanic-ext writes on every response it allows
ORIGIN_HEADERS: tuple[str, ...] = (
    "access-control-allow-origin", "access-control-allow-credentials")
#: CORS headers sanic-ext writes on preflights when its automatic OPTIONS are on
PREFLIGHT_HEADERS = ("access-control-allow-methods", "access-control-allow-headers")


def sanic_ext_cors(app: Any) -> Any:
    """sanic-ext's CORS settings of ``app`` when it allows any origin, else None."""
    settings = getattr(app.ctx, "cors", None)
    if settings is None or not getattr(settings, "allow_origins", None):
        return None
    return settings


class OriginPolicy:
    """``cors_allowed_origins`` of a Sanic-hosted server: sanic-ext's when configured,
    else the one the application gave (``policy``)."""

    def __init__(self, policy: Any, *, explicit: bool) -> None:
        self.policy = policy
        self.explicit = explicit
        self._warned = False

    def __call__(self, origin: str, environ: Mapping[str, Any]) -> bool:
        request = environ.get("sanic.request")
        settings = sanic_ext_cors(request.app) if request is not None else None
        if settings is None:
            return origin_allowed(origin, policy=self.policy, host=environ.get("HTTP_HOST"),
                                  forwarded_host=environ.get("HTTP_X_FORWARDED_HOST"),
                                  environ=environ)
        if self.explicit and not self._warned:
            self._warned = True
            logger.warning("sanic-ext's CORS settings decide CORS for Socket.IO; "
                           "SOCKETIO_CORS_ALLOWED_ORIGINS is ignored")
        same_origin = origin_allowed(origin, policy=None, host=environ.get("HTTP_HOST"),
                                     forwarded_host=environ.get("HTTP_X_FORWARDED_HOST"))
        return same_origin or any(p.match(origin) for p in settings.allow_origins)


def strip_engine_cors(response: Any, settings: Any) -> None:
    """Remove the engine's CORS headers that sanic-ext writes itself, so that each header
    is written once and says what sanic-ext's settings say."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return
    names = ORIGIN_HEADERS
    if getattr(settings, "automatic_options", False):
        names += PREFLIGHT_HEADERS
    for name in names:
        if name in headers:
            del headers[name]
