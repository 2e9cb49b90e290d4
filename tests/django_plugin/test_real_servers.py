"""The test project under daphne and uvicorn, driven by the JS socket.io-client (node)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .servers import manage, migrated_db, read_line, run_node, serve, start_node


@pytest.fixture(scope="module")
def live_db() -> str:
    return migrated_db()


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_django_login_cookie_reaches_handlers(live_db: str, kind: str) -> None:
    with serve(kind, live_db) as url:
        result = run_node("session", url)
    assert "error" not in result, result
    assert result["me"]["user"] == "carol"
    assert result["me"]["greeting"] == "hello carol"  # written by the login view
    assert result["me"]["channels"] is True
    assert result["meWs"]["user"] == "carol"
    # a session write in a socket handler is what the next HTTP request sees
    assert result["stored"] == {"value": "blue"}
    assert result["anonymous"] == {"message": "authentication required",
                                   "data": {"status": 401}}


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_foreign_origin_refused_on_both_transports(live_db: str, kind: str) -> None:
    with serve(kind, live_db) as url:
        result: dict[str, Any] = run_node("origin", url)
    assert result["polling"].startswith("refused"), result
    assert result["websocket"].startswith("refused"), result
    assert result["polling_own_origin"] == "dave"
    assert result["websocket_own_origin"] == "dave"


def test_two_processes_share_rooms_over_channels_redis(live_db: str, redis_server: Any) -> None:
    with serve("daphne", live_db, SIO_TEST_REDIS=redis_server.url) as a, \
            serve("uvicorn", live_db, SIO_TEST_REDIS=redis_server.url) as b:
        node = start_node("cluster", a, b)
        try:
            ready = read_line(node)
            assert ready == "READY", (ready, node.stderr.read() if node.stderr else "")
            # a third process serving nobody emits with one command
            command = manage(live_db, "socketio_emit", "news", '{"text": "from a command"}',
                             "--to", "shared", SIO_TEST_REDIS=redis_server.url)
            assert command.returncode == 0, command.stderr
            result = json.loads(read_line(node))
        finally:
            node.kill()
            node.wait(10)
    assert "error" not in result, result
    assert result["statusA"] == 200 and result["statusB"] == 200
    # a broadcast from a Django view in A reached the client connected to B ...
    assert result["newsB"] == {"text": "from A", "from": "view"}
    # ... and a room joined in A received the emit made in B
    assert result["newsA"] == {"text": "from B", "from": "view"}
    assert result["said"] == [{"user": "erin", "text": "hello both"}] * 2
    assert result["command"] == [{"text": "from a command"}] * 2
