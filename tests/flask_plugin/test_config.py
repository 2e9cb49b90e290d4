"""``app.config["SOCKETIO_*"]``: keys derived from the options object, validated at init_app."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from flask import Flask

from sio_integrations.errors import ConfigurationError
from sio_integrations.flask import SocketIO, config_keys
from sio_integrations.options import ServerOptions


def _app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_every_server_option_has_a_config_key() -> None:
    keys = config_keys()
    for name in ServerOptions.option_names():
        assert "SOCKETIO_" + name.upper() in keys
    assert {"SOCKETIO_CORS_ALLOWED_ORIGINS", "SOCKETIO_PING_INTERVAL", "SOCKETIO_ASYNC_MODE",
            "SOCKETIO_PATH", "SOCKETIO_MANAGE_SESSION"} <= set(keys)


def test_config_configures_the_server_and_keywords_override_it() -> None:
    app = _app(SOCKETIO_PING_INTERVAL=3, SOCKETIO_PING_TIMEOUT=4,
               SOCKETIO_CORS_ALLOWED_ORIGINS=["https://a.example"],
               SOCKETIO_MAX_HTTP_BUFFER_SIZE=1234)
    sio = SocketIO(app, ping_timeout=9)
    options = sio.get_server(app).options
    assert options.ping_interval == 3
    assert options.ping_timeout == 9  # the keyword wins
    assert options.cors_allowed_origins == ["https://a.example"]
    assert options.max_http_buffer_size == 1234
    assert options.async_mode == "threading"
    assert sio.settings(app).path == "socket.io"


def test_init_app_keywords_override_the_extension_keywords() -> None:
    sio = SocketIO(ping_timeout=5)
    app = _app()
    sio.init_app(app, ping_timeout=6)
    assert sio.get_server(app).options.ping_timeout == 6


def test_unknown_config_key_fails_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="SOCKETIO_PING_INTERVALL"):
        SocketIO(_app(SOCKETIO_PING_INTERVALL=3))


def test_ill_typed_config_key_fails_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=r"app.config\['SOCKETIO_PING_INTERVAL'\]"):
        SocketIO(_app(SOCKETIO_PING_INTERVAL="soon"))
    with pytest.raises(ConfigurationError, match="SOCKETIO_TRANSPORTS"):
        SocketIO(_app(SOCKETIO_TRANSPORTS=["carrier-pigeon"]))
    with pytest.raises(ConfigurationError, match="SOCKETIO_MANAGE_SESSION"):
        SocketIO(_app(SOCKETIO_MANAGE_SESSION="yes"))


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="ping_intervall"):
        SocketIO(ping_intervall=3)


def test_asgi_modes_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="SOCKETIO_ASYNC_MODE"):
        SocketIO(_app(SOCKETIO_ASYNC_MODE="asgi"))


def test_custom_path() -> None:
    app = _app(SECRET_KEY="s", SOCKETIO_PATH="/rt/")
    sio = SocketIO(app)

    @sio.on("hi")
    def hi() -> str:
        return "there"

    assert app.test_client().get("/socket.io/?EIO=4&transport=polling").status_code == 404
    client = sio.test_client(app)
    assert client.path == "/rt/"
    assert client.emit("hi", callback=True) == "there"
    client.close()


_PATCHED = """
import {library}
{patch}
from flask import Flask
from sio_integrations.flask import SocketIO
app = Flask("x")
print(SocketIO(app).get_server(app).async_mode)
"""


@pytest.mark.parametrize(("library", "patch", "mode"), [
    ("eventlet", "eventlet.monkey_patch()", "eventlet"),
    ("gevent.monkey", "gevent.monkey.patch_all()", "gevent"),
    ("eventlet", "", "threading"),  # installed and imported, but not patched
])
def test_async_mode_follows_monkey_patching(library: str, patch: str, mode: str) -> None:
    # in a subprocess: this test process must never be monkey-patched
    code = _PATCHED.format(library=library, patch=patch)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == mode
