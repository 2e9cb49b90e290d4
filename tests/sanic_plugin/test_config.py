"""app.config.SOCKETIO_* (and SANIC_SOCKETIO_* environment variables) -> server options."""

from __future__ import annotations

import gc

import pytest
from sanic import Sanic

from sio_integrations.errors import ConfigurationError
from sio_integrations.options import ServerOptions
from sio_integrations.sanic import SocketIO, server_options
from sio_integrations.sanic.config import config_options

from .conftest import app_name, running


def test_environment_variables_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANIC_SOCKETIO_PING_INTERVAL", "7")
    monkeypatch.setenv("SANIC_SOCKETIO_PING_TIMEOUT", "2.5")
    monkeypatch.setenv("SANIC_SOCKETIO_TRANSPORTS", "websocket")
    monkeypatch.setenv("SANIC_SOCKETIO_ALLOW_UPGRADES", "false")
    monkeypatch.setenv("SANIC_SOCKETIO_CORS_ALLOWED_ORIGINS", "http://a.example,http://b.example")
    app = Sanic(app_name())
    socketio = SocketIO(app)
    options = socketio.options
    assert options is not None
    assert options.ping_interval == 7 and options.ping_timeout == 2.5
    assert options.transports == ["websocket"]
    assert options.allow_upgrades is False
    assert options.async_mode == "sanic"
    policy = options.cors_allowed_origins
    assert getattr(policy, "policy", None) == ["http://a.example", "http://b.example"]


def test_every_server_option_has_a_config_key() -> None:
    # derived from the options object: a new core option needs no change here
    config = {"SOCKETIO_" + name.upper(): getattr(ServerOptions(), name)
              for name in ServerOptions.option_names() if name != "ping_interval_grace"}
    assert len(config_options(config)) == len(config)


def test_unknown_key_fails_naming_it() -> None:
    app = Sanic(app_name())
    app.config.SOCKETIO_PING_INTERVALL = 5
    with pytest.raises(ConfigurationError, match="SOCKETIO_PING_INTERVALL"):
        SocketIO(app)


def test_ill_typed_value_fails_naming_the_key() -> None:
    app = Sanic(app_name())
    app.config.SOCKETIO_PING_TIMEOUT = "soon"
    with pytest.raises(ConfigurationError, match="SOCKETIO_ping_timeout"):
        SocketIO(app)
    app2 = Sanic(app_name())
    app2.config.SOCKETIO_TRANSPORTS = "carrier-pigeon"
    with pytest.raises(ConfigurationError, match="transports"):
        SocketIO(app2)


def test_keywords_win_and_async_mode_is_pinned() -> None:
    options = server_options({"SOCKETIO_PING_INTERVAL": 3, "SOCKETIO_MAX_ATTACHMENTS": 2},
                             ping_interval=9)
    assert (options.ping_interval, options.max_attachments) == (9, 2)
    assert options.async_mode == "sanic"
    with pytest.raises(ConfigurationError, match="sanic"):
        server_options({"SOCKETIO_ASYNC_MODE": "asgi"})
    with pytest.raises(ConfigurationError, match="sanic"):
        SocketIO(async_mode="aiohttp")
    with pytest.raises(TypeError, match="ping_intervall"):
        SocketIO(ping_intervall=3)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_config_changed_after_the_extension_fails_at_startup() -> None:
    app = Sanic(app_name())
    SocketIO(app)
    app.config.SOCKETIO_PING_INTERVAL = 3
    with pytest.raises(ConfigurationError, match="SOCKETIO_PING_INTERVAL"):
        with running(app):
            pass
    gc.collect()  # sanic-testing's server coroutine, never started: warned about here


def test_websocket_frame_limit_follows_max_http_buffer_size() -> None:
    app = Sanic(app_name())
    app.config.SOCKETIO_MAX_HTTP_BUFFER_SIZE = 5_000_000
    SocketIO(app)
    assert app.config.WEBSOCKET_MAX_SIZE > 5_000_000
