"""``socketio.run()`` for real, driven by the official JS socket.io-client under node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..services import free_port
from .livesrv import serve
from .nodejs import JS_DIR, node_modules, run_scenario

CLIENT = JS_DIR / "client.js"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node_modules()
    store = tmp_path_factory.mktemp("flask-sessions")
    with serve(["-m", "tests.flask_plugin.live_server", str(free_port()), str(store)]) as url:
        yield url


def test_logged_in_cookie_reaches_current_user_and_logout_is_seen(base_url: str) -> None:
    result = run_scenario(CLIENT, base_url, "login")
    assert result["before"] == ["alice", "alice", None]  # polling, websocket, anonymous
    assert result["secret"] == "secret for alice"
    assert result["upgraded"] == "websocket"  # the polling client upgraded
    assert result["after"] == [None, None]
    assert result["refused"] == {"error": "unauthenticated"}


def test_rooms(base_url: str) -> None:
    assert run_scenario(CLIENT, base_url, "rooms") == {"joinedB": "r1", "roomsA": True}


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_foreign_origin_is_refused(base_url: str, transport: str) -> None:
    assert run_scenario(CLIENT, base_url, f"origin-{transport}")["connected"] is False
    # the control: the same client with the server's own origin connects
    assert run_scenario(CLIENT, base_url, f"same-origin-{transport}") == {"connected": True}


def test_cookie_session_logout_reaches_open_sockets() -> None:
    node_modules()
    with serve(["-m", "tests.flask_plugin.live_server", str(free_port()), "-"]) as url:
        result = run_scenario(CLIENT, url, "login")
    assert result["before"] == ["alice", "alice", None]
    assert result["after"] == [None, None]  # the logout response's cookie was followed


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_run_under_green_threads(mode: str, tmp_path: Path) -> None:
    node_modules()
    args = ["-m", "tests.flask_plugin.live_server", str(free_port()), str(tmp_path), mode]
    with serve(args) as url:
        result = run_scenario(CLIENT, url, "login")
        assert result["before"] == ["alice", "alice", None]
        assert result["after"] == [None, None]
        assert run_scenario(CLIENT, url, "origin-websocket")["connected"] is False
