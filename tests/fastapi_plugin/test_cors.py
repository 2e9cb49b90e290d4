"""CORS: same origin without CORSMiddleware; the app's CORSMiddleware policy when present."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from sio_integrations.fastapi.testing import SocketIOTestClient

from .chatapp import make_app

POLL = {"EIO": "4", "transport": "polling"}


def _refused_websocket(http: TestClient, origin: str) -> None:
    with pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)):
        SocketIOTestClient(http, auth={"token": "t-alice"}, headers={"origin": origin}
                           ).connect()


def test_same_origin_by_default() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http:
        ok = http.get("/socket.io/", params=POLL, headers={"origin": "http://testserver"})
        assert ok.status_code == 200
        assert ok.headers.get_list("access-control-allow-origin") == ["http://testserver"]
        foreign = http.get("/socket.io/", params=POLL, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 400 and foreign.json()["code"] == 4
        _refused_websocket(http, "http://evil.example")
        with SocketIOTestClient(http, auth={"token": "t-alice"},
                                headers={"origin": "http://testserver"}) as sio:
            assert sio.call("add", 1, 2) == [3]


def test_cors_middleware_owns_the_policy_without_duplicate_headers() -> None:
    app, _, _ = make_app(cors={"allow_origins": ["http://front.example"],
                               "allow_credentials": True, "allow_methods": ["*"],
                               "allow_headers": ["*"]})
    with TestClient(app, base_url="http://api.example") as http:
        ok = http.get("/socket.io/", params=POLL, headers={"origin": "http://front.example"})
        assert ok.status_code == 200 and ok.text.startswith("0")
        assert ok.headers.get_list("access-control-allow-origin") == ["http://front.example"]
        assert ok.headers.get_list("access-control-allow-credentials") == ["true"]
        # the preflight is the middleware's answer, once
        pre = http.options("/socket.io/", params=POLL, headers={
            "origin": "http://front.example", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type"})
        assert pre.status_code == 200
        assert pre.headers.get_list("access-control-allow-origin") == ["http://front.example"]
        # an origin the middleware does not allow is refused, on HTTP and websocket
        foreign = http.get("/socket.io/", params=POLL, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 400 and foreign.json()["code"] == 4
        assert "access-control-allow-origin" not in foreign.headers
        _refused_websocket(http, "http://evil.example")
        # the same origin as the API is foreign too: the middleware's list decides
        same = http.get("/socket.io/", params=POLL, headers={"origin": "http://api.example"})
        assert same.status_code == 400
        with SocketIOTestClient(http, auth={"token": "t-alice"},
                                headers={"origin": "http://front.example"}) as sio:
            assert sio.call("add", 2, 2) == [4]


def test_cors_middleware_wildcard_allows_any_origin() -> None:
    app, _, _ = make_app(cors={"allow_origins": ["*"]})
    with TestClient(app) as http:
        ok = http.get("/socket.io/", params=POLL, headers={"origin": "http://any.example"})
        assert ok.status_code == 200
        assert ok.headers.get_list("access-control-allow-origin") == ["*"]
