"""example_projects/django_chat: run.py, Django login with CSRF, the chat over Socket.IO."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import sio_integrations
from tests.services import free_port, wait_for_port

from .servers import ROOT

EXAMPLE = ROOT / "example_projects" / "django_chat"


@pytest.fixture(scope="module")
def chat_url() -> Iterator[str]:
    port = free_port()
    db = str(Path(tempfile.mkdtemp(prefix="sio-django-chat-")) / "db.sqlite3")
    log = tempfile.TemporaryFile()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SIO_TEST"))}
    process = subprocess.Popen([sys.executable, str(EXAMPLE / "run.py"), "--host", "127.0.0.1",
                                "--port", str(port), "--db", db],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, 60, "django_chat")
        except AssertionError:
            log.seek(0)
            raise AssertionError(log.read().decode()) from None
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def login(url: str, username: str, password: str = "chat") -> tuple[requests.Session, str]:
    """Submit the login form (with its CSRF token); the session and the answer page."""
    http = requests.Session()
    page = http.get(url + "/login", timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    answer = http.post(url + "/login", data={"username": username, "password": password,
                                             "csrfmiddlewaretoken": token.group(1)},
                       headers={"Referer": url + "/login"}, timeout=10)
    return http, answer.text


def wait_event(client: sio_integrations.SimpleClient, name: str) -> list[object]:
    for _ in range(10):  # bounded: skip the other events (user lists)
        event = client.receive(timeout=10)
        if event[0] == name:
            return list(event[1:])
    raise AssertionError(f"no {name!r} event")


def test_login_contract(chat_url: str) -> None:
    assert requests.get(chat_url + "/", allow_redirects=False, timeout=10).headers[
        "Location"].startswith("/login")
    _, refused = login(chat_url, "zed", "nope")
    assert 'id="login-error"' in refused
    _, refused = login(chat_url, "Not-Valid", "chat")
    assert 'id="login-error"' in refused
    http, page = login(chat_url, "alice")
    assert '<strong id="me">alice</strong>' in page  # redirected to the chat page
    assert "/static/socket.io-client/socket.io.min.js" in page
    script = http.get(chat_url + "/static/socket.io-client/socket.io.min.js", timeout=10)
    assert script.status_code == 200 and b"io" in script.content


def test_chat_over_both_transports(chat_url: str) -> None:
    cookies = {name: login(chat_url, name)[0].cookies.get("sessionid") for name in ("amy", "ben")}
    clients = {}
    for name, transports in (("amy", ["polling"]), ("ben", ["websocket"])):
        client = sio_integrations.SimpleClient()
        # (websocket-client sends the Origin Channels' AllowedHostsOriginValidator wants)
        client.connect(chat_url, transports=transports,
                       headers={"Cookie": f"sessionid={cookies[name]}"})
        clients[name] = client
    try:
        assert clients["amy"].call("join", "r1", timeout=10)["users"] == ["amy"]
        assert clients["ben"].call("join", "r1", timeout=10)["users"] == ["amy", "ben"]
        clients["ben"].emit("message", "hello")
        for name in ("amy", "ben"):
            assert wait_event(clients[name], "message") == [
                {"room": "r1", "user": "ben", "text": "hello"}]
    finally:
        for client in clients.values():
            client.disconnect()
    anonymous = sio_integrations.SimpleClient()
    with pytest.raises(sio_integrations.exceptions.ConnectionError):
        anonymous.connect(chat_url, transports=["polling"])
