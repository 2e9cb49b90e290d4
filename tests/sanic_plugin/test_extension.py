"""The Sanic extension with sanic-testing's ReusableClient: a real Sanic server on a free
port, long-polling through HTTP requests and the websocket through its websocket client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sanic import Sanic

from sio_integrations.runtime._async.server import AsyncServer
from sio_integrations.sanic import SocketIO

from .chatapp import make_app
from .conftest import app_name, peer, running

ALICE = {"Cookie": "user=alice; theme=dark"}


def test_ctx_user_and_session_reach_connect_and_event_handlers() -> None:
    app, socketio = make_app(app_name())
    assert app.ctx.socketio is socketio
    assert isinstance(socketio.server, AsyncServer) and socketio.server.async_mode == "sanic"
    with running(app) as client:
        alice = peer(client, ALICE)
        kind, reply = alice.connect({"token": "t"})
        assert kind == "40" and "sid" in reply
        who = alice.call("whoami")[0]
        assert who["user"] == "alice"
        assert who["session"] == {"theme": "dark"}
        assert who["auth"] == {"token": "t"}
        assert who["transport"] == "polling"
        assert who["remote_addr"] == "127.0.0.1"
        assert alice.call("join", "r1") == [sorted([reply["sid"], "r1"])]
    assert ("connect", "alice") in app.ctx.events


def test_connect_refused_with_sanic_exception_and_connection_refused_error() -> None:
    app, _ = make_app(app_name())
    with running(app) as client:
        anonymous = peer(client)
        assert anonymous.connect() == ("44", {"message": "login required",
                                              "data": {"status": 401}})
        asked = peer(client, ALICE)
        assert asked.connect({"refuse": True}) == ("44", {"message": "refused by request",
                                                          "data": {"why": "asked"}})


def test_middleware_runs_at_the_handshake_only_for_its_values() -> None:
    """The user is the one of the opening request: later requests of the same session
    (with another cookie) do not change it."""
    app, _ = make_app(app_name())
    with running(app) as client:
        alice = peer(client, ALICE)
        alice.connect()
        alice.headers = {"Cookie": "user=bob"}
        assert alice.call("whoami")[0]["user"] == "alice"


def test_websocket_transport_with_sanic_testing_websocket_client() -> None:
    app, _ = make_app(app_name())
    seen: dict[str, Any] = {}

    async def conversation(ws: Any) -> None:
        opened = await ws.recv()
        seen["open"] = json.loads(opened[1:])
        await ws.send('40{"token":"ws"}')
        seen["connected"] = await ws.recv()
        await ws.send('421["whoami"]')
        seen["whoami"] = await ws.recv()
        await ws.send('422["upload",{"_placeholder":true,"num":0},"blob"]'.replace(
            "422", "451-2", 1))
        await ws.send(b"\x01\x02\x03")
        seen["upload_head"] = await ws.recv()
        seen["upload_blob"] = await ws.recv()

    with running(app) as client:
        client.websocket("/socket.io/?EIO=4&transport=websocket", mimic=conversation,
                         extra_headers=ALICE)
    assert seen["open"]["upgrades"] == []
    assert seen["connected"].startswith("40{")
    who = json.loads(seen["whoami"][len("431"):])[0]
    assert (who["user"], who["transport"], who["auth"]) == ("alice", "websocket",
                                                             {"token": "ws"})
    head = seen["upload_head"]
    assert head.startswith("461-2[") and '"size":3' in head and '"name":"blob"' in head
    assert seen["upload_blob"] == b"\x03\x02\x01"


def test_foreign_origin_refused_same_origin_accepted() -> None:
    app, _ = make_app(app_name())
    with running(app) as client:
        foreign = peer(client, {**ALICE, "Origin": "http://evil.example"})
        status, body, _ = foreign.open()
        assert status == 400 and json.loads(body)["code"] == 4
        host = f"127.0.0.1:{client.port}"
        same = peer(client, {**ALICE, "Origin": f"http://{host}"})
        status, _, headers = same.open()
        assert status == 200
        assert headers.get_list("access-control-allow-origin") == [f"http://{host}"]

        seen: dict[str, Any] = {}

        async def refused(ws: Any) -> None:  # never reached
            seen["open"] = await ws.recv()

        with pytest.raises(Exception) as info:
            client.websocket("/socket.io/?EIO=4&transport=websocket", mimic=refused,
                             extra_headers={**ALICE, "Origin": "http://evil.example"})
        assert "400" in str(info.value)
        assert seen == {}


def test_sanic_ext_cors_settings_decide_and_write_headers_once() -> None:
    name = app_name()
    app = Sanic(name)
    app.config.CORS_ORIGINS = "http://allowed.example"
    app.config.CORS_SUPPORTS_CREDENTIALS = False
    SocketIO(app)
    with running(app) as client:
        allowed = peer(client, {"Origin": "http://allowed.example"})
        status, _, headers = allowed.open()
        assert status == 200
        assert headers.get_list("access-control-allow-origin") == ["http://allowed.example"]
        # sanic-ext's setting, not the engine's default (credentials allowed)
        assert headers.get_list("access-control-allow-credentials") == []
        status, _, _ = peer(client, {"Origin": "http://evil.example"}).open()
        assert status == 400
        # the page's own origin stays allowed
        status, _, _ = peer(client, {"Origin": f"http://127.0.0.1:{client.port}"}).open()
        assert status == 200


def test_engine_answers_every_method_and_path_setting() -> None:
    app = Sanic(app_name())
    app.config.SOCKETIO_PATH = "/rt"
    SocketIO(app)
    with running(app) as client:
        _, response = client.put("/rt/?EIO=4&transport=polling")
        assert response.status_code == 400
        assert json.loads(response.text)["code"] == 2  # Engine.IO's "bad handshake method"
        _, response = client.get("/rt/?EIO=4&transport=polling")
        assert response.status_code == 200 and response.text.startswith("0{")


def test_lifecycle_starts_and_shuts_down_with_the_server() -> None:
    app, socketio = make_app(app_name())
    with running(app) as client:
        alice = peer(client, ALICE)
        alice.connect()
        assert socketio.server.eio._service is not None  # started by before_server_start
    # before_server_stop disconnected the client
    assert ("disconnect", "server shutting down") in app.ctx.events


def test_deferred_registration_with_init_app() -> None:
    socketio = SocketIO(ping_interval=7)
    with pytest.raises(RuntimeError):
        socketio.server  # noqa: B018

    @socketio.event
    async def ping(sid: str) -> str:
        return "pong"

    app = Sanic(app_name())

    @app.on_request
    async def nobody(request: Any) -> None:
        request.ctx.user = None

    socketio.init_app(app)
    with pytest.raises(RuntimeError):
        socketio.init_app(app)
    with running(app) as client:
        p = peer(client)
        assert p.connect()[0] == "40"
        assert p.handshake["pingInterval"] == 7000
        assert p.call("ping") == ["pong"]


def test_websocket_peer_gone_is_a_transport_close() -> None:
    """Sanic's recv() raises CancelledError when the peer goes away: the session must
    still end at once as a transport close, not by ping timeout."""
    app, _ = make_app(app_name())

    async def connect_and_vanish(ws: Any) -> None:
        await ws.recv()
        await ws.send("40")
        await ws.recv()
        await ws.close()  # no Engine.IO close packet: the transport just goes away
        await ws.recv()  # ConnectionClosedOK: sanic-testing then sends nothing more

    with running(app) as client:
        client.websocket("/socket.io/?EIO=4&transport=websocket", mimic=connect_and_vanish,
                         extra_headers=ALICE)
        for _ in range(20):  # each request runs the loop a little (bounded)
            if any(e[0] == "disconnect" for e in app.ctx.events):
                break
            client.get("/")
        assert ("disconnect", "transport close") in app.ctx.events


def test_app_served_twice_in_one_process_gets_a_working_server() -> None:
    app, _ = make_app(app_name())
    for _ in range(2):
        with running(app) as client:
            alice = peer(client, ALICE)
            assert alice.connect()[0] == "40"
            assert alice.call("whoami")[0]["user"] == "alice"
    assert app.ctx.events.count(("disconnect", "server shutting down")) == 2
