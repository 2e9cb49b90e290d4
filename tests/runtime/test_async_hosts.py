"""AsyncServer on the Sanic and Tornado async modes, each in its own host process,
driven by python-socketio's client over polling, websocket and polling-then-upgrade."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio as reference  # python-socketio: test-only peer

from .live import free_port

APPS = Path(__file__).parent / "hostapps"
ROOT = Path(__file__).resolve().parents[2]


def _available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        return False
    return True


@pytest.fixture(scope="module", params=["sanic", "tornado"])
def host(request: pytest.FixtureRequest) -> Iterator[str]:
    if not _available(request.param):
        pytest.skip(f"{request.param} is not installed")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(APPS / f"{request.param}_app.py"), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # bounded: the process exits (EOF) if it fails to start
        lines.append(line)
        if line.startswith("READY"):
            break
    else:
        proc.wait(10)
        pytest.fail(f"{request.param} host did not start:\n{''.join(lines)}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
def test_connect_ack_session_broadcast(host: str, transports: list[str]) -> None:
    assert requests.get(host + "/", timeout=5).status_code == 200
    news: queue.Queue[Any] = queue.Queue()
    clients = []
    try:
        for n in range(2):
            c = reference.Client()
            c.on("news", news.put)
            c.connect(host, auth={"user": n}, transports=transports, wait_timeout=5)
            clients.append(c)
        first = clients[0]
        payload = {"blob": b"\x00\x01binary", "list": [1, "two"]}
        assert first.call("echo", payload, timeout=5) == payload
        who = first.call("whoami", timeout=5)
        assert who["auth"] == {"user": 0}
        if transports == ["polling"]:
            assert who["transport"] == "polling"
        else:
            # the upgrade may finish a moment after connect() returns
            assert who["transport"] in ("polling", "websocket")
        first.emit("bcast", "hello")
        assert [news.get(timeout=5), news.get(timeout=5)] == ["hello", "hello"]
    finally:
        for c in clients:
            c.disconnect()
