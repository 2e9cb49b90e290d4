"""Cross-site websocket hijacking and CORS, the same policy in every plugin.

Each plugin's example project (example_projects/*, the apps the browser tests drive) runs
as a real server. A user logs in over HTTP, so the client holds a *valid* session cookie
(or, for FastAPI, a valid token); then a page from a foreign origin, or a sandboxed page
(``Origin: null``), must be refused before any CONNECT is processed, on long-polling and on
the websocket handshake, while the same request from the app's own origin connects as that
user (which shows the credentials were valid).
"""

from __future__ import annotations

import html.parser
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.browser.servers import ROOT, ServerProcess, free_port, python_argv

POLL = "/socket.io/?EIO=4&transport=polling"
FOREIGN = ["http://evil.example", "null", "http://127.0.0.1.evil.example"]
EXAMPLES = ["django_chat", "flask_chat", "sanic_chat", "tornado_chat", "fastapi_chat"]


class _Inputs(html.parser.HTMLParser):
    """The hidden inputs of a form (CSRF tokens)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.hidden[str(values["name"])] = values.get("value") or ""


class Example:
    def __init__(self, name: str, server: ServerProcess) -> None:
        self.name = name
        self.server = server
        self.base = server.url
        self.http = requests.Session()
        self.auth: dict[str, Any] | None = None

    def login(self) -> None:
        if self.name == "fastapi_chat":  # token login (no cookie session in this example)
            r = self.http.post(self.base + "/login", json={"nickname": "mallory"}, timeout=10)
            r.raise_for_status()
            self.auth = {"token": r.json()["token"]}
            return
        form = self.http.get(self.base + "/login", timeout=10)
        inputs = _Inputs()
        inputs.feed(form.text)
        r = self.http.post(self.base + "/login", timeout=10, allow_redirects=False,
                           data={**inputs.hidden, "username": "mallory", "password": "chat"})
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        assert self.http.cookies, "login set no cookie"

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def connect_packet(self) -> str:
        return "40" + (json.dumps(self.auth, separators=(",", ":")) if self.auth else "")

    def websocket(self, origin: str | None) -> Any:
        headers = [f"Origin: {origin}"] if origin is not None else []
        return websocket.create_connection(
            self.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            header=headers, cookie=self.cookie_header(), timeout=5, suppress_origin=True)


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Example]:
    name = request.param
    port = free_port()
    log = tmp_path_factory.mktemp(name) / "server.log"
    if name == "fastapi_chat":
        server = ServerProcess(name, python_argv(
            "-m", "uvicorn", "example_projects.fastapi_chat.app:app", "--host", "127.0.0.1",
            "--port", str(port)), port=port, log_path=log,
            ready_line=rf"Uvicorn running on http://127\.0\.0\.1:{port}", probe_path="/rooms")
    else:
        server = ServerProcess(name, python_argv(
            str(ROOT / "example_projects" / name / "run.py"), "--host", "127.0.0.1",
            "--port", str(port)), port=port, log_path=log,
            ready_line=rf"http://127\.0\.0\.1:{port}/", probe_path="/login")
    server.start()
    try:
        running = Example(name, server)
        running.login()
        yield running
    finally:
        server.stop()


def _error_code(r: requests.Response) -> int:
    assert r.status_code == 400, (r.status_code, r.text[:200])
    assert r.headers["Content-Type"].startswith("application/json")
    return int(r.json()["code"])


def test_own_origin_with_the_credentials_connects(example: Example) -> None:
    """The control: same request, the app's own origin -> connected as the user."""
    own = {"Origin": example.base}
    r = example.http.get(example.base + POLL, headers=own, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers.get("Access-Control-Allow-Origin") in (None, example.base)
    sid = json.loads(r.text[1:])["sid"]
    url = f"{example.base}{POLL}&sid={sid}"
    assert example.http.post(url, data=example.connect_packet(), headers=own,
                             timeout=5).text == "ok"
    assert '40{"sid":' in example.http.get(url, headers=own, timeout=5).text
    ws = example.websocket(example.base)
    assert ws.recv().startswith("0{")
    ws.send(example.connect_packet())
    assert ws.recv().startswith('40{"sid":')
    ws.close()


@pytest.mark.parametrize("origin", FOREIGN)
def test_foreign_origin_refused_on_polling(example: Example, origin: str) -> None:
    r = example.http.get(example.base + POLL, headers={"Origin": origin}, timeout=5)
    assert _error_code(r) == 4
    # never reflected, never "*" (with or without credentials)
    assert "Access-Control-Allow-Origin" not in r.headers
    # a session opened without an Origin cannot be used from the foreign page either:
    # its CONNECT is refused before it reaches the server
    r = example.http.get(example.base + POLL, timeout=5)
    sid = json.loads(r.text[1:])["sid"]
    url = f"{example.base}{POLL}&sid={sid}"
    refused = example.http.post(url, data=example.connect_packet(),
                                headers={"Origin": origin}, timeout=5)
    assert _error_code(refused) == 4
    assert example.http.post(url, data="1", timeout=5).text == "ok"  # close it


@pytest.mark.parametrize("origin", FOREIGN)
def test_foreign_origin_refused_on_websocket(example: Example, origin: str) -> None:
    try:
        ws = example.websocket(origin)
    except (websocket.WebSocketException, ConnectionError):
        return  # refused at the handshake: the expected outcome for most hosts
    # a host that completes the websocket handshake must close it before any packet
    try:
        first = ws.recv()
    except (websocket.WebSocketException, ConnectionError):
        first = ""
    assert first == "", f"{example.name} opened a session for Origin {origin}: {first!r}"


def test_preflight_from_a_foreign_origin_gets_no_cors_grant(example: Example) -> None:
    r = example.http.options(example.base + POLL, timeout=5, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert r.headers.get("Access-Control-Allow-Origin") in (None, ""), dict(r.headers)
    assert r.headers.get("Access-Control-Allow-Credentials") in (None, "")
