"""Mounting: include_router, OpenAPI, long-polling with TestClient, lifespan, session."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sio_integrations.errors import ConfigurationError
from sio_integrations.fastapi import SocketIORouter, server_options
from sio_integrations.fastapi.testing import SocketIOTestClient

from .chatapp import make_app


def _open(http: TestClient, path: str = "/socket.io/", **headers: str) -> dict[str, Any]:
    response = http.get(path, params={"EIO": "4", "transport": "polling"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.text.startswith("0")
    opened: dict[str, Any] = json.loads(response.text[1:])
    return opened


def test_engine_endpoint_is_out_of_openapi_and_serves_long_polling() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http:
        paths = http.get("/openapi.json").json()["paths"]
        assert "/login" in paths and not any("socket.io" in p for p in paths)
        assert not any("asyncapi" in p for p in paths)
        sid = _open(http)["sid"]
        # join "/" over polling with the auth payload, read the CONNECT answer
        post = http.post("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": sid},
                         content='40{"token":"t-alice"}')
        assert post.status_code == 200 and post.text == "ok"
        answer = http.get("/socket.io/", params={"EIO": "4", "transport": "polling",
                                                 "sid": sid})
        assert answer.text.startswith("40{\"sid\":")
        # an engine error keeps the Engine.IO wire format (not FastAPI's JSON errors)
        bad = http.get("/socket.io/", params={"EIO": "3", "transport": "polling"})
        assert bad.status_code == 400
        assert bad.json() == {"code": 5, "message": "Unsupported protocol version"}
        # every method reaches the engine (not FastAPI's 405)
        put = http.put("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert put.status_code == 400 and put.json()["code"] == 2


def test_prefix_and_custom_path() -> None:
    router = SocketIORouter(path="/rt", prefix="/api")
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as http:
        _open(http, "/api/rt/")
        assert http.get("/socket.io/", params={"EIO": "4", "transport": "polling"}
                        ).status_code == 404
        with SocketIOTestClient(http, path="/api/rt") as sio:
            assert sio.sid
        assert http.get("/api/asyncapi.json").status_code == 200


def test_lifespan_shuts_the_server_down_with_the_app() -> None:
    app, router, _ = make_app()
    reasons: list[str] = []

    @router.on("disconnect")
    async def disconnect(sid: str, reason: str) -> None:
        reasons.append(reason)

    with TestClient(app) as http:
        # a long-polling client: nothing of it stays open inside the TestClient's portal
        sid = _open(http)["sid"]
        query = {"EIO": "4", "transport": "polling", "sid": sid}
        http.post("/socket.io/", params=query, content='40{"token":"t-alice"}')
        assert http.get("/socket.io/", params=query).text.startswith("40")
        assert reasons == []
    # leaving the TestClient ran the app's shutdown: every client was disconnected
    assert reasons == ["server shutting down"]


def test_lifespan_starts_the_server_and_restarts_it_after_a_shutdown() -> None:
    """Startup starts the heartbeat service; the same app run twice in one process (two
    TestClient blocks) gets a working server both times: a client that never answers
    pings is dropped with 'ping timeout' in the second run too."""
    app, router, _ = make_app(ping_interval=0.2, ping_timeout=0.2)
    reasons: list[str] = []

    @router.on("disconnect")
    async def disconnect(sid: str, reason: str) -> None:
        reasons.append(reason)

    for run in range(2):
        with TestClient(app) as http:
            sid = _open(http)["sid"]
            query = {"EIO": "4", "transport": "polling", "sid": sid}
            http.post("/socket.io/", params=query, content='40{"token":"t-alice"}')
            assert http.get("/socket.io/", params=query).text.startswith("40")
            # silent from now on: the next polls see the ping, then the close
            frames: list[str] = []
            for _ in range(10):  # each poll waits at most ping_interval + ping_timeout
                frames += http.get("/socket.io/", params=query).text.split("\x1e")
                if "1" in frames or "6" in frames:
                    break
            assert "2" in frames, (run, frames)
            assert reasons[-1:] == ["ping timeout"], (run, reasons)


def test_session_middleware_session_is_readable_at_connect() -> None:
    app, _, recorder = make_app()
    with TestClient(app) as http:
        assert http.post("/login", json={"token": "t-bob"}).json() == {"user": "bob"}
        # the TestClient keeps the session cookie and sends it on the websocket too
        with SocketIOTestClient(http, auth={"token": "t-bob"},
                                headers={"user-agent": "agent/1"}) as sio:
            # ... and in event handlers, with the handshake and the sid as dependencies
            assert sio.call("profile") == [{"session": {"user": "bob"}, "same_sid": True,
                                            "agent": "agent/1", "token": "t-bob"}]
    assert ("http-session", {"user": "bob"}) in recorder.calls


def test_server_options_pass_through_and_async_mode_is_pinned() -> None:
    router = SocketIORouter(ping_interval=3, max_http_buffer_size=1234)
    assert router.sio.options.ping_interval == 3
    assert router.sio.async_mode == "asgi"
    assert server_options(cors_credentials=False).async_mode == "asgi"
    with pytest.raises(ConfigurationError):
        SocketIORouter(async_mode="aiohttp")
    with pytest.raises(TypeError, match="pinginterval"):
        SocketIORouter(pinginterval=3)
