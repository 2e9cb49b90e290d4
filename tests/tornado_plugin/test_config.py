"""Application settings ``socketio_*`` -> server options; the endpoint built lazily."""

from __future__ import annotations

import pytest
import tornado.web
from tornado.testing import AsyncHTTPTestCase

from sio_integrations.errors import ConfigurationError
from sio_integrations.options import ServerOptions
from sio_integrations.tornado import SocketIO, SocketIOHandler, server_options
from sio_integrations.tornado.config import settings_options


def _app(socketio: SocketIO, **settings: object) -> tornado.web.Application:
    return tornado.web.Application([socketio.route()], **settings)


def test_settings_reach_the_server_and_keywords_win() -> None:
    socketio = SocketIO(ping_timeout=3)
    socketio.init_app(_app(socketio, socketio_ping_interval=7, socketio_ping_timeout=9,
                           socketio_transports=["websocket"]))
    options = socketio.options
    assert options is not None
    assert (options.ping_interval, options.ping_timeout) == (7, 3)
    assert options.transports == ["websocket"]
    assert socketio.server.async_mode == "tornado"


def test_every_server_option_has_a_setting() -> None:
    settings = {"socketio_" + name: getattr(ServerOptions(), name)
                for name in ServerOptions.option_names()}
    assert len(settings_options(settings)) == len(settings)


def test_unknown_and_ill_typed_settings_fail_naming_the_key() -> None:
    socketio = SocketIO()
    with pytest.raises(ConfigurationError, match="socketio_ping_intervall"):
        socketio.init_app(_app(socketio, socketio_ping_intervall=3))
    with pytest.raises(ConfigurationError, match="socketio_max_attachments"):
        socketio.init_app(_app(socketio, socketio_max_attachments="many"))
    assert socketio.app is None  # nothing half-built


def test_async_mode_is_pinned() -> None:
    assert server_options({}).async_mode == "tornado"
    with pytest.raises(ConfigurationError, match="tornado"):
        server_options({"socketio_async_mode": "asgi"})
    with pytest.raises(ConfigurationError, match="tornado"):
        SocketIO(async_mode="sanic")
    with pytest.raises(TypeError, match="ping_intervall"):
        SocketIO(ping_intervall=3)


def test_route_and_binding() -> None:
    socketio = SocketIO()
    path, handler, kwargs = socketio.route("/rt")
    assert (path, handler, kwargs) == ("/rt/", SocketIOHandler, {"socketio": socketio})
    app = _app(socketio)
    socketio.init_app(app)
    socketio.init_app(app)  # the same app again: nothing to do
    with pytest.raises(RuntimeError):
        socketio.init_app(_app(socketio))


class TestLazyInit(AsyncHTTPTestCase):
    """Without init_app, the first request of the endpoint reads the settings."""

    def get_app(self) -> tornado.web.Application:
        self.socketio = SocketIO()

        @self.socketio.event
        async def ping(sid: str) -> str:  # registered before the server exists
            return "pong"

        return _app(self.socketio, socketio_ping_interval=4)

    def test_first_request_builds_the_server(self) -> None:
        with pytest.raises(RuntimeError):
            self.socketio.server  # noqa: B018
        response = self.fetch("/socket.io/?EIO=4&transport=polling")
        assert response.code == 200 and b'"pingInterval":4000' in response.body
        assert "ping" in self.socketio.server.handlers["/"]
        self.io_loop.run_sync(self.socketio.shutdown)
