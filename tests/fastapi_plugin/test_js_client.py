"""A real uvicorn server (lifespan on) and the official JS socket.io-client from npm."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ..runtime.live import free_port, wait_until
from .chatapp import make_app
from .nodejs import JS_DIR, node_modules, require_tool


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    import uvicorn

    node_modules()
    app, _, _ = make_app(ping_interval=1, ping_timeout=3)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive(), "uvicorn did not stop (lifespan shutdown hung?)"


def _run(base_url: str, scenario: str) -> dict[str, Any]:
    node = require_tool("node")
    done = subprocess.run([node, str(JS_DIR / "client.js"), base_url, scenario],
                          capture_output=True, text=True, timeout=30, cwd=JS_DIR)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    return result


def test_token_auth_rooms_validation_and_binary(base_url: str) -> None:
    result = _run(base_url, "chat")
    assert result["rooms"] is True
    assert result["ack"] == {"room": "r1", "delivered": True}
    assert result["said"] == {"user": "alice", "room": "r1", "text": "hello"}
    assert result["invalid"] == "validation_error"
    assert result["upload"] == {"name": "blob", "size": 4, "echo": [250, 3, 2, 1],
                                "binary": True}
    assert result["transports"] == ["websocket", "websocket"]  # alice upgraded


def test_bad_token_is_refused_by_the_dependency(base_url: str) -> None:
    assert _run(base_url, "refused") == {
        "message": "invalid token", "data": {"status": 401, "detail": "invalid token"}}


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_foreign_origin_is_refused(base_url: str, transport: str) -> None:
    result = _run(base_url, f"origin-{transport}")
    assert result["connected"] is False
    # the control: the same client with the server's own origin connects
    assert _run(base_url, f"same-origin-{transport}") == {"connected": True}
