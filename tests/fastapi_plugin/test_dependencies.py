"""Dependencies of connect and event handlers, router guards, HTTP endpoints emitting."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Cookie, Depends, FastAPI, Query
from fastapi.testclient import TestClient

from sio_integrations.exceptions import ConnectionRefusedError  # noqa: A004
from sio_integrations.fastapi import SocketIORouter
from sio_integrations.fastapi.testing import SocketIOTestClient

from .chatapp import current_user, make_app


def test_connect_dependency_resolves_the_user_from_the_auth_payload() -> None:
    app, router, recorder = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-alice"}) as sio:
        assert sio.sid is not None
        assert ("connect", "alice") in recorder.calls
        assert sio.call("whoami") == [{"user": "alice", "resource": "resource"}]
        # the yield dependency was finalised after the handler returned
        assert recorder.closed == ["resource"]


def test_http_exception_in_a_dependency_refuses_with_status_and_detail() -> None:
    app, _, recorder = make_app()
    with TestClient(app) as http:
        with pytest.raises(ConnectionRefusedError) as refused:
            SocketIOTestClient(http, auth={"token": "wrong"}).connect()
        assert refused.value.error_args == {
            "message": "invalid token", "data": {"status": 401, "detail": "invalid token"}}
        with pytest.raises(ConnectionRefusedError):
            SocketIOTestClient(http).connect()  # no auth at all
    assert not any(name == "connect" for name, _ in recorder.calls)


def test_router_dependencies_guard_every_connection() -> None:
    app, _, recorder = make_app(guard=True)
    with TestClient(app) as http:
        with pytest.raises(ConnectionRefusedError) as refused:
            SocketIOTestClient(http, auth={"token": "t-alice"},
                               headers={"user-agent": "blocked-agent"}).connect()
        assert refused.value.error_args["data"] == {"status": 403,
                                                    "detail": "agent not allowed"}
        with SocketIOTestClient(http, auth={"token": "t-alice"},
                                headers={"user-agent": "fine"}) as sio:
            assert sio.call("add", 1, 2) == [3]


def test_app_dependency_overrides_apply_to_socket_handlers() -> None:
    app, _, _ = make_app()
    app.dependency_overrides[current_user] = lambda: "override"
    with TestClient(app) as http, SocketIOTestClient(http) as sio:
        assert sio.call("whoami")[0]["user"] == "override"


def test_event_dependency_failure_is_reported_not_dispatched() -> None:
    app, _, recorder = make_app()
    app.dependency_overrides[current_user] = lambda: "alice"
    with TestClient(app) as http, SocketIOTestClient(http) as sio:
        app.dependency_overrides.clear()  # now the event's own dependency refuses
        answer = sio.call("say", {"room": "r", "text": "hi"})
        assert answer == [{"error": "http_error", "status": 401, "detail": "invalid token",
                           "event": "say"}]
    assert not any(name == "say" for name, _ in recorder.calls)


def test_http_endpoint_emits_to_a_room_through_the_server_dependency() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http, SocketIOTestClient(http, auth={"token": "t-bob"}) as sio:
        assert "lobby" in sio.call("join", "lobby")[0]
        response = http.post("/rooms/lobby/announce", params={"text": "welcome"})
        assert response.json() == {"ok": True}
        assert sio.wait_for("said") == [{"user": "system", "room": "lobby",
                                         "text": "welcome"}]
        # another room gets nothing
        http.post("/rooms/elsewhere/announce", params={"text": "x"})
        sio.call("add", 0, 0)  # a round trip: anything emitted before has arrived
        assert sio.get_received() == []


def test_rooms_and_binary_in_process() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http, \
            SocketIOTestClient(http, auth={"token": "t-alice"}) as alice, \
            SocketIOTestClient(http, auth={"token": "t-bob"}) as bob:
        alice.call("join", "r1")
        bob.call("join", "r1")
        assert alice.call("say", {"room": "r1", "text": "hello"}) == [
            {"room": "r1", "delivered": True}]
        expected = [{"user": "alice", "room": "r1", "text": "hello"}]
        assert bob.wait_for("said") == expected
        assert alice.wait_for("said") == expected
        answer = bob.call("upload", b"\x00\x01\x02", "blob")
        assert answer == [{"name": "blob", "size": 3, "echo": b"\x02\x01\x00"}]


def _client_info(room: Annotated[str, Query()], theme: Annotated[str | None, Cookie()] = None
                 ) -> dict[str, str | None]:
    return {"room": room, "theme": theme}


def test_query_and_cookie_parameters_of_the_handshake() -> None:
    router = SocketIORouter()

    @router.event
    def info(sid: str, data: Annotated[dict[str, Any], Depends(_client_info)]
             ) -> dict[str, Any]:  # a plain function handler works too
        return data

    app = FastAPI()
    app.include_router(router)
    with TestClient(app, cookies={"theme": "dark"}) as http:
        with SocketIOTestClient(http, query={"room": "blue"}) as sio:
            assert sio.call("info") == [{"room": "blue", "theme": "dark"}]
        with SocketIOTestClient(http) as sio:  # the required query parameter is missing
            [answer] = sio.call("info")
            assert answer["error"] == "validation_error"
            assert answer["detail"][0]["loc"] == ["query", "room"]


def test_guards_also_cover_namespaces_without_handlers() -> None:
    app, _, _ = make_app(guard=True, namespaces="*")
    with TestClient(app) as http:
        with pytest.raises(ConnectionRefusedError) as refused:
            SocketIOTestClient(http, namespace="/elsewhere",
                               headers={"user-agent": "blocked-agent"}).connect()
        assert refused.value.error_args["data"]["status"] == 403
        with SocketIOTestClient(http, namespace="/elsewhere") as sio:
            assert sio.sid
