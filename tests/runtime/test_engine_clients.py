"""python-engineio's clients and the JavaScript engine.io-client against our engine."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import engineio
import pytest

from . import test_engine_harness as harness
from .test_engine_harness import Running

make_server = harness.make_server
JS_DIR = Path(__file__).parent / "js"


@pytest.fixture
def server(make_server: Any) -> Running:
    # real clients on a busy machine: a heartbeat that tolerates scheduling delays
    running: Running = make_server(ping_interval=1, ping_timeout=2)
    return running


@pytest.mark.parametrize("transports", [["polling", "websocket"], ["polling"], ["websocket"]])
def test_python_engineio_client(server: Running, transports: list[str]) -> None:
    client = engineio.Client()
    received: list[Any] = []
    done = threading.Event()

    @client.on("message")
    def on_message(data: Any) -> None:
        received.append(data)
        if len(received) == 2:
            done.set()

    client.connect(server.base, engineio_path="engine.io", transports=transports)
    sid = client.sid
    try:
        expected = "polling" if transports == ["polling"] else "websocket"
        assert client.transport() == expected
        client.send("hello")
        client.send(b"\x01\x02")
        assert done.wait(5), received
        assert received == ["hello", b"\x01\x02"]
    finally:
        client.disconnect()
    # engineio's client sends a CLOSE packet on polling, and only closes a websocket. Its
    # polling write loop sometimes exits before sending that CLOSE (it re-checks its state
    # first): the server then ends the session by heartbeat.
    expected_reasons = (
        ("client disconnect", "ping timeout") if expected == "polling"
        else ("client disconnect", "transport close")
    )
    assert server.recorder.wait_disconnect(sid) in expected_reasons


def test_python_engineio_async_client(server: Running) -> None:
    async def run() -> tuple[str, list[Any]]:
        client = engineio.AsyncClient()
        received: list[Any] = []
        done = asyncio.Event()

        @client.on("message")
        async def on_message(data: Any) -> None:
            received.append(data)
            if len(received) == 2:
                done.set()

        await client.connect(server.base, engineio_path="engine.io")
        try:
            transport = client.transport()
            await client.send("hello")
            await client.send(b"\x03")
            await asyncio.wait_for(done.wait(), 5)
        finally:
            await client.disconnect()
        return transport, received

    transport, received = asyncio.run(run())
    assert transport == "websocket"
    assert received == ["hello", b"\x03"]


def _node() -> str | None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI")
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "engine.io-client").exists():
        npm = shutil.which("npm")
        assert npm is not None, "npm is required to install engine.io-client"
        subprocess.run([npm, "install", "--no-package-lock", "--silent"], cwd=JS_DIR,
                       check=True, timeout=300)
    return node


@pytest.mark.parametrize("transports", ["polling,websocket", "websocket", "polling"])
def test_js_engine_io_client(server: Running, transports: str) -> None:
    node = _node()
    assert node is not None
    out = subprocess.run(
        [node, "engine_client.js", server.base, "/engine.io/", transports],
        cwd=JS_DIR, capture_output=True, text=True, timeout=30, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["error"] is None, (result, out.stderr)
    assert result["opened"]
    assert result["received"] == ["hello", {"binary": [1, 2, 3, 4]}]
    assert result["transport"] == ("polling" if transports == "polling" else "websocket")
    assert result["upgraded"] == (transports == "polling,websocket")
    messages = [e[2] for e in server.recorder.of("message")]
    assert messages == ["hello", b"\x01\x02\x03\x04"]
