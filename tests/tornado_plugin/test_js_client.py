"""A real Tornado server (subprocess) and the official JS socket.io-client from npm."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.sanic_plugin.nodejs import run_scenario, server_process
from tests.services import free_port

from .chatapp import signed

ALICE = f"user={signed('user', 'alice')}; theme={signed('theme', 'dark')}"
BOB = f"user={signed('user', 'bob')}"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    settings = {"socketio_ping_interval": 2, "socketio_ping_timeout": 5}
    with server_process(["tests/tornado_plugin/serve.py", str(port)],
                        env={"SIO_TEST_SETTINGS": json.dumps(settings)}):
        yield f"http://127.0.0.1:{port}"


def test_auth_session_rooms_and_binary(base_url: str) -> None:
    result = run_scenario(base_url, "chat", ALICE, BOB)
    assert result["alice"]["user"] == "alice" and result["bob"]["user"] == "bob"
    assert result["alice"]["session"] == {"user": "alice", "theme": "dark"}
    assert result["bob"]["session"] == {"user": "bob"}
    assert result["alice"]["auth"] == {"token": "a"}
    assert result["alice"]["transport"] in ("polling", "websocket")  # may have upgraded
    assert result["bob"]["transport"] == "websocket"
    assert result["inRoom"] is True
    assert result["ack"] == {"delivered": True}
    assert result["said"] == {"user": "alice", "room": "r1", "text": "hello"}
    assert result["upload"] == {"name": "blob", "size": 4, "echo": [250, 3, 2, 1],
                                "binary": True}
    assert result["transports"] == ["websocket", "websocket"]  # alice upgraded


def test_anonymous_is_refused_with_the_reason(base_url: str) -> None:
    assert run_scenario(base_url, "refused", ALICE, BOB) == {
        "message": "login required", "data": {"status": 401}}


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_foreign_origin_is_refused(base_url: str, transport: str) -> None:
    result = run_scenario(base_url, f"origin-{transport}", ALICE, BOB)
    assert result["connected"] is False
    assert run_scenario(base_url, f"same-origin-{transport}", ALICE, BOB) == {
        "connected": True}
