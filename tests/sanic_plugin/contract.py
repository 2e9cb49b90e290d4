"""Checks of the example page contract (/work/helpers/EXAMPLES.md) over HTTP and Socket.IO,
shared by the Sanic and Tornado chat examples: run.py prints its URL, /login logs in any
valid name with the password ``chat``, / needs the login, and the socket (authenticated by
the login cookie) joins rooms, sends messages and sees the room's users."""

from __future__ import annotations

import queue
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import socketio as reference  # python-socketio: the test-only peer

from tests.services import free_port

from .nodejs import npm_install, server_process

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def run_example(name: str) -> Iterator[str]:
    """``example_projects/<name>/run.py`` on a free port; yields its base URL."""
    folder = ROOT / "example_projects" / name
    npm_install(folder)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with server_process([str(folder / "run.py"), "--host", "127.0.0.1", "--port", str(port)],
                        marker=url):
        yield url.rstrip("/")


def login(base: str, username: str, password: str = "chat",
          extra: Callable[[requests.Session, str], dict[str, str]] | None = None
          ) -> requests.Session:
    """Log in through the /login form; the session holds the login cookie."""
    http = requests.Session()
    form = http.get(base + "/login", timeout=10)
    assert form.status_code == 200
    for element in ('id="login-form"', 'id="username"', 'id="password"', 'type="password"'):
        assert element in form.text, element
    data = {"username": username, "password": password}
    if extra is not None:
        data.update(extra(http, form.text))
    http.post(base + "/login", data=data, timeout=10, allow_redirects=False).raise_for_status()
    return http


def cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def check_pages(base: str, extra: Callable[[requests.Session, str], dict[str, str]] | None
                = None) -> requests.Session:
    """/ redirects to /login, a wrong password shows #login-error, a right one redirects
    to / which shows #me; the official client is served. Returns ann's session."""
    anonymous = requests.get(base + "/", timeout=10, allow_redirects=False)
    assert anonymous.status_code in (302, 303, 307)
    assert re.search(r"/login\b", anonymous.headers["location"])
    wrong = requests.Session()
    page = wrong.get(base + "/login", timeout=10).text
    data = {"username": "ann", "password": "nope"}
    if extra is not None:
        data.update(extra(wrong, page))
    answer = wrong.post(base + "/login", data=data, timeout=10, allow_redirects=False)
    assert answer.status_code == 200 and 'id="login-error"' in answer.text
    assert 'id="login-form"' in answer.text
    assert wrong.get(base + "/", timeout=10, allow_redirects=False).status_code != 200
    http = requests.Session()
    page = http.get(base + "/login", timeout=10).text
    data = {"username": "ann", "password": "chat"}
    if extra is not None:
        data.update(extra(http, page))
    answer = http.post(base + "/login", data=data, timeout=10, allow_redirects=False)
    assert answer.status_code in (302, 303) and answer.headers["location"] in ("/", base + "/")
    chat = http.get(base + "/", timeout=10)
    assert chat.status_code == 200
    assert re.search(r'id="me">ann<', chat.text)
    for element in ('id="status"', 'id="join-form"', 'id="room"', 'id="room-name"',
                    'id="send-form"', 'id="text"', 'id="messages"', 'id="users"'):
        assert element in chat.text, element
    client = http.get(base + "/vendor/socket.io.min.js", timeout=10)
    assert client.status_code == 200 and "javascript" in client.headers["content-type"]
    return http


def check_chat(base: str, ann: requests.Session, bob: requests.Session, *,
               disconnect_timeout: float = 5) -> None:
    """Sockets authenticated by the login cookies: rooms, messages, the users list.
    ``disconnect_timeout`` bounds how long a departed user may stay listed."""
    refused = reference.Client(reconnection=False)
    errors: list[Any] = []
    refused.on("connect_error", errors.append)
    try:
        refused.connect(base, wait_timeout=5)
    except reference.exceptions.ConnectionError:
        assert errors and errors[0]["message"] == "log in first", errors
    else:
        refused.disconnect()
        raise AssertionError("an anonymous socket was accepted")

    inbox: dict[str, queue.Queue[Any]] = {"ann": queue.Queue(), "bob": queue.Queue()}
    clients = {}
    try:
        for name, http in (("ann", ann), ("bob", bob)):
            c = reference.Client(reconnection=False)
            c.on("message", lambda m, n=name: inbox[n].put(("message", m)))
            c.on("users", lambda m, n=name: inbox[n].put(("users", m)))
            c.connect(base, headers={"Cookie": cookie_header(http)}, wait_timeout=5)
            clients[name] = c
        assert clients["ann"].call("join", "lobby", timeout=5) == {
            "ok": True, "room": "lobby", "users": ["ann"]}
        assert clients["bob"].call("join", "lobby", timeout=5) == {
            "ok": True, "room": "lobby", "users": ["ann", "bob"]}
        _expect(inbox["ann"], "users", {"room": "lobby", "users": ["ann", "bob"]})
        clients["bob"].emit("message", "hello ann")
        expected = {"room": "lobby", "user": "bob", "text": "hello ann"}
        _expect(inbox["ann"], "message", expected)
        _expect(inbox["bob"], "message", expected)
        # joining another room leaves the previous one; its users are told
        assert clients["bob"].call("join", "python", timeout=5)["users"] == ["bob"]
        _expect(inbox["ann"], "users", {"room": "lobby", "users": ["ann"]})
        # a disconnect updates the users of the room
        clients["ann"].call("join", "python", timeout=5)
        _expect(inbox["ann"], "users", {"room": "python", "users": ["ann", "bob"]})
        clients["bob"].disconnect()
        _expect(inbox["ann"], "users", {"room": "python", "users": ["ann"]},
                timeout=disconnect_timeout)
    finally:
        for c in clients.values():
            c.disconnect()


def _expect(inbox: queue.Queue[Any], kind: str, payload: Any, timeout: float = 5) -> None:
    """Wait for this event (earlier updates in between are skipped; bounded)."""
    seen = []
    for _ in range(20):
        item = inbox.get(timeout=timeout)
        if item == (kind, payload):
            return
        seen.append(item)
    raise AssertionError(f"no {kind} {payload!r}; got {seen!r}")



