"""``SocketIOHandler``: the Engine.IO endpoint as a Tornado handler (polling and websocket).

Route it in the ``Application`` like any handler, with the ``SocketIO`` object as its
argument: ``(r"/socket.io/", SocketIOHandler, {"socketio": socketio})`` (or
``socketio.route()``). Subclass it to define ``get_current_user()`` / ``prepare()`` or
``check_origin()``; they run at every request of the endpoint, and at the opening request
their answers become the connection's :class:`Handshake`.

Origins: one policy for both transports, Tornado's own. A request that is not evidently
same-origin (``Sec-Fetch-Site``, or ``Origin`` equal to ``Host``) is allowed only if
``check_origin(origin)`` says so: for the websocket Tornado asks it before the upgrade,
and the engine asks it for every long-polling request. By default ``check_origin`` uses
the ``socketio_cors_allowed_origins`` setting when given, else Tornado's
``trusted_origins``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import tornado.websocket

from ..handshake import Handshake
from ..protocol.engine.requests import origin_allowed
from .bridge import HANDSHAKE_ATTR, handshake_from_handler

if TYPE_CHECKING:
    from .extension import SocketIO

logger = logging.getLogger("sio_integrations.tornado")

#: the websocket frame limit of the host stays above the engine's own message limit
WEBSOCKET_SLACK = 65536


class SocketIOHandler(tornado.websocket.WebSocketHandler):
    """Serves one Engine.IO request: a long-polling GET/POST, or a websocket."""

    socketio: SocketIO
    socketio_handshake: Handshake | None

    def initialize(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self.socketio_handshake = None
        self._messages: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._session: asyncio.Task[None] | None = None
        self._asking = False

    # -- origin and CSRF ------------------------------------------------------------------

    def check_origin(self, origin: str) -> bool:
        """Whether a cross-origin page may use Socket.IO (override to decide yourself)."""
        policy = self.socketio.allowed_origins
        if policy is None:
            return super().check_origin(origin)
        return origin_allowed(origin, policy=policy, host=self.request.host,
                              environ={"tornado.handler": self})

    def socketio_origin_allowed(self, origin: str) -> bool:
        """Tornado's cross-origin algorithm with :meth:`check_origin` (both transports)."""
        fetch_site = self.request.headers.get("Sec-Fetch-Site")
        if fetch_site in ("same-origin", "none"):
            return True
        if fetch_site is None and urlsplit(origin).netloc.lower() == (
                self.request.headers.get("Host", "").lower()):
            return True
        return self.check_origin(origin)

    def check_xsrf_cookie(self) -> None:
        """Engine.IO POSTs carry no ``_xsrf`` token. They need the connection's secret
        sid, which a foreign page cannot read (its origin is refused), so a forged POST
        has nothing to post to."""

    def check_trusted_origin(self, origin: str) -> bool:
        # ``cross_origin_protection`` (Tornado >= 6.6) asks this for POSTs: the same
        # policy as check_origin. Tornado's default check_origin calls back here, hence
        # the guard.
        if self._asking:
            return super().check_trusted_origin(origin)
        self._asking = True
        try:
            return self.check_origin(origin)
        finally:
            self._asking = False

    # -- requests -------------------------------------------------------------------------

    def _capture_handshake(self) -> None:
        # the opening request of a connection carries no sid
        if self.get_query_argument("sid", None) is None:
            handshake = handshake_from_handler(self)
            setattr(self, HANDSHAKE_ATTR, handshake)

    async def get(self, *args: Any, **kwargs: Any) -> None:
        server = self.socketio.server_for(self.application)
        self._capture_handshake()
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            await super().get(*args, **kwargs)  # origin check, then open()
        else:
            await server.handle_request(self)

    async def _serve(self) -> None:
        server = self.socketio.server_for(self.application)
        self._capture_handshake()
        await server.handle_request(self)

    async def post(self, *args: Any, **kwargs: Any) -> None:
        await self._serve()

    async def options(self, *args: Any, **kwargs: Any) -> None:
        await self._serve()

    async def put(self, *args: Any, **kwargs: Any) -> None:
        await self._serve()  # the engine answers Engine.IO's own 400

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        await self._serve()

    async def patch(self, *args: Any, **kwargs: Any) -> None:
        await self._serve()

    # -- websocket ------------------------------------------------------------------------

    def open(self, *args: Any, **kwargs: Any) -> None:
        # Tornado delivers messages only once open() returns: the session runs in a task
        self._session = asyncio.ensure_future(self._run_websocket())

    async def _run_websocket(self) -> None:
        try:
            await self.socketio.server.handle_request(self)
        except Exception:  # nobody awaits this task: say what went wrong
            logger.exception("Socket.IO websocket session failed")
        finally:
            if self.ws_connection is not None and not self.ws_connection.is_closing():
                self.close()

    def on_message(self, message: str | bytes) -> None:
        self._messages.put_nowait(message)

    def on_close(self) -> None:
        self._messages.put_nowait(None)

    async def get_next_message(self) -> str | bytes | None:
        """The next websocket message, None once closed (read by the engine's driver)."""
        return await self._messages.get()

    @property
    def max_message_size(self) -> int:
        limit = self.socketio.server.options.max_http_buffer_size + WEBSOCKET_SLACK
        return max(super().max_message_size, limit)
