"""End-to-end test of example_projects/chat: the real app under uvicorn, driven by the
python-socketio client (a test-only peer) over real sockets on 127.0.0.1."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio  # python-socketio, the reference client

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "example_projects" / "chat"
BUNDLE = CHAT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="warning")
    # Keep any PYTHONPATH the caller set first; the repository root makes the package
    # importable even without an install.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    log = tmp_path_factory.mktemp("chat") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(CHAT / "app.py")], env=env, stdout=out, stderr=out, cwd=ROOT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chat app exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if http_get(url + "/static/chat.js")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chat app did not start in 30 s:\n{log.read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=TIMEOUT)


class ChatUser:
    """A python-socketio client that records every server event it receives."""

    def __init__(self, url: str, nickname: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", lambda event, data: self.events.put((event, data)))
        self.client.connect(url, auth={"nickname": nickname}, wait_timeout=TIMEOUT)

    def call(self, event: str, data: Any = None) -> Any:
        if data is None:
            return self.client.call(event, timeout=TIMEOUT)
        return self.client.call(event, data, timeout=TIMEOUT)

    def wait_for(self, event: str, match: Callable[[Any], bool]) -> Any:
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                break
            if name == event and match(data):
                return data
        raise AssertionError(f"no {event!r} event matching the condition in {TIMEOUT} s")

    def received(self) -> list[tuple[str, Any]]:
        items = []
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def users(base_url: str) -> Iterator[Callable[[str], ChatUser]]:
    opened: list[ChatUser] = []

    def login(nickname: str) -> ChatUser:
        user = ChatUser(base_url, nickname)
        opened.append(user)
        return user

    yield login
    for user in opened:
        user.close()


def test_page_and_script_are_served(base_url: str) -> None:
    status, ctype, body = http_get(base_url + "/")
    assert status == 200 and ctype.startswith("text/html")
    assert b"/vendor/socket.io.min.js" in body and b"/static/chat.js" in body
    status, _, body = http_get(base_url + "/static/chat.js")
    assert status == 200 and b"socket.timeout(" in body
    status, ctype, _ = http_get(base_url + "/static/chat.css")
    assert status == 200 and ctype.startswith("text/css")
    assert http_get(base_url + "/static/../app.py")[0] == 404


def test_official_client_bundle_is_served(base_url: str) -> None:
    if not BUNDLE.is_file():
        message = "run `npm install --no-package-lock` in example_projects/chat"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    status, ctype, body = http_get(base_url + "/vendor/socket.io.min.js")
    assert status == 200 and "javascript" in ctype
    assert body == BUNDLE.read_bytes()


def test_login_needs_a_free_nickname(base_url: str, users: Callable[[str], ChatUser]) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatUser(base_url, "   ")
    users("Dora")
    with pytest.raises(socketio.exceptions.ConnectionError):
        ChatUser(base_url, "dora")  # nicknames are unique regardless of case


def test_rooms_messages_and_user_lists(users: Callable[[str], ChatUser]) -> None:
    alice, bob, carol = users("alice"), users("bob"), users("carol")

    joined = alice.call("join", {"room": "python"})
    assert joined["ok"] and joined["room"] == "python" and joined["users"] == ["alice"]
    assert bob.call("join", {"room": "python"})["users"] == ["alice", "bob"]
    alice.wait_for("users", lambda d: d == {"room": "python", "users": ["alice", "bob"]})
    assert carol.call("join", {"room": "random"})["users"] == ["carol"]

    ack = alice.call("message", {"text": "  hello python  "})
    assert ack["ok"] and ack["message"]["text"] == "hello python"
    line = bob.wait_for("message", lambda d: d["nickname"] == "alice")
    assert line == ack["message"] and line["room"] == "python"

    # carol's own round trip is ordered after alice's broadcast on the server
    assert carol.call("message", {"text": "anyone?"})["ok"]
    assert not [d for e, d in carol.received() if e == "message" and d["room"] == "python"]
    # skip_sid: the sender learns about her line from the ack, not from an event
    assert not [d for e, d in alice.received() if e == "message" and d["nickname"] == "alice"]

    assert bob.call("leave") == {"ok": True}
    alice.wait_for("message", lambda d: d["nickname"] is None and d["text"] == "bob left")
    alice.wait_for("users", lambda d: d == {"room": "python", "users": ["alice"]})

    history = bob.call("join", {"room": "python"})["history"]
    assert any(m["nickname"] == "alice" and m["text"] == "hello python" for m in history)

    carol.close()
    bob.wait_for("rooms", lambda rooms: {"name": "random", "users": 0} in rooms)


def test_refuses_bad_input(users: Callable[[str], ChatUser]) -> None:
    erin = users("erin")
    assert erin.call("message", {"text": "nobody hears me"}) == {
        "ok": False,
        "error": "join a room first",
    }
    assert erin.call("join", {"room": ""})["ok"] is False
    assert erin.call("join", {"room": "Side-Room"})["room"] == "side-room"
    assert erin.call("message", {"text": ""})["ok"] is False
    assert erin.call("message", "x" * 10_000)["message"]["text"] == "x" * 500


def test_example_uses_only_the_public_api() -> None:
    import ast

    imports = []
    for node in ast.walk(ast.parse((CHAT / "app.py").read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "sio_integrations" for name in names):
            imports.append(ast.unparse(node))
    assert imports == ["import sio_integrations as socketio"]
