"""Origin policy of the Socket.IO endpoint, with and without Flask-CORS on the app."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from sio_integrations.flask import SocketIO

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def _app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", **config)
    SocketIO(app)

    @app.route("/api")
    def api() -> str:
        return "api"

    return app


def _origin_headers(response: Any) -> list[str]:
    return response.headers.getlist("Access-Control-Allow-Origin")


def test_same_origin_by_default() -> None:
    http = _app().test_client()
    # the test client's Host is localhost
    same = http.get(HANDSHAKE, headers={"Origin": "http://localhost"})
    assert same.status_code == 200 and same.get_data(as_text=True).startswith("0")
    foreign = http.get(HANDSHAKE, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400
    assert _origin_headers(foreign) == []
    # non-browser clients send no Origin
    assert http.get(HANDSHAKE).status_code == 200


def test_allowed_origins_from_config() -> None:
    http = _app(SOCKETIO_CORS_ALLOWED_ORIGINS=["https://app.example"]).test_client()
    allowed = http.get(HANDSHAKE, headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert _origin_headers(allowed) == ["https://app.example"]
    assert http.get(HANDSHAKE, headers={"Origin": "https://evil.example"}).status_code == 400


@pytest.mark.parametrize("origins", ["*", ["https://app.example"]])
def test_flask_cors_adds_no_duplicate_headers_and_does_not_open_socketio(
        origins: Any) -> None:
    from flask_cors import CORS

    app = _app(SOCKETIO_CORS_ALLOWED_ORIGINS=["https://app.example"])
    CORS(app, origins=origins, supports_credentials=True)
    http = app.test_client()
    allowed = http.get(HANDSHAKE, headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert _origin_headers(allowed) == ["https://app.example"]  # exactly one
    assert len(allowed.headers.getlist("Access-Control-Allow-Credentials")) <= 1
    preflight = http.options(HANDSHAKE, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert _origin_headers(preflight) == ["https://app.example"]
    # Flask-CORS's policy is for the app's routes; Socket.IO keeps its own
    assert http.get(HANDSHAKE, headers={"Origin": "https://evil.example"}).status_code == 400
    api = http.get("/api", headers={"Origin": "https://app.example"})
    assert _origin_headers(api) == ["https://app.example"]
