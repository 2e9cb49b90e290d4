"""example_projects/fastapi_chat, driven in process with TestClient and the test helper."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import threading
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
from fastapi.testclient import TestClient

from sio_integrations.exceptions import ConnectionRefusedError  # noqa: A004
from sio_integrations.fastapi.testing import SocketIOTestClient

from ..runtime.live import free_port, wait_until
from .nodejs import JS_DIR, node_modules, require_tool

EXAMPLE = Path(__file__).resolve().parents[2] / "example_projects" / "fastapi_chat"


@pytest.fixture
def chat() -> ModuleType:
    bundle = EXAMPLE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
    if not bundle.exists():
        subprocess.run([require_tool("npm"), "install", "--no-package-lock", "--no-audit",
                        "--no-fund"], cwd=EXAMPLE, check=True, timeout=180,
                       capture_output=True)
    spec = importlib.util.spec_from_file_location("fastapi_chat_example", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh app (and server) per test
    return module


def _login(http: TestClient, nickname: str) -> str:
    response = http.post("/login", json={"nickname": nickname})
    assert response.status_code == 200
    token: str = response.json()["token"]
    return token


def test_page_and_official_client_are_served(chat: ModuleType) -> None:
    with TestClient(chat.app) as http:
        page = http.get("/")
        assert page.status_code == 200 and "/vendor/socket.io.min.js" in page.text
        bundle = http.get("/vendor/socket.io.min.js")
        assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
        assert http.get("/static/chat.js").status_code == 200
        assert http.post("/login", json={"nickname": "bad name!"}).status_code == 422


def test_login_rooms_validation_and_announce(chat: ModuleType) -> None:
    with TestClient(chat.app) as http:
        with pytest.raises(ConnectionRefusedError) as refused:
            SocketIOTestClient(http, auth={"token": "forged"}).connect()
        assert refused.value.error_args["data"] == {"status": 401,
                                                    "detail": "please log in again"}
        ann, bob = _login(http, "ann"), _login(http, "bob")
        with SocketIOTestClient(http, auth={"token": ann}) as a, \
                SocketIOTestClient(http, auth={"token": bob}) as b:
            assert a.call("join", {"room": "python"}) == [[]]
            assert b.call("join", {"room": "python"}) == [[]]
            assert a.wait_for("joined") == [{"room": "python", "nickname": "bob"}]
            said = {"room": "python", "nickname": "ann", "text": "hi"}
            assert a.call("say", {"room": "python", "text": "hi"}) == [said]
            assert b.wait_for("said") == [said]
            # validation: an unknown room and an empty text never reach the handlers
            assert a.call("join", {"room": "nope"})[0]["error"] == "validation_error"
            assert a.call("say", {"room": "python", "text": ""})[0]["error"] == \
                "validation_error"
            # an HTTPException raised by the handler itself: not in that room
            refused_say = a.call("say", {"room": "lobby", "text": "x"})[0]
            assert refused_say == {"error": "http_error", "status": 403,
                                   "detail": "join the room first", "event": "say"}
            assert http.post("/rooms/python/announce", params={"text": "bye"}).json() == \
                {"ok": True}
            assert b.wait_for("said") == [{"room": "python", "nickname": "system",
                                           "text": "bye"}]
            # history is the join acknowledgement
            assert b.call("join", {"room": "python"}) == [[said]]


def test_asyncapi_document_of_the_example_is_valid(chat: ModuleType) -> None:
    schema = json.loads((node_modules() / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
                         ).read_text())
    with TestClient(chat.app) as http:
        document = http.get("/asyncapi.json").json()
    jsonschema.Draft7Validator(schema).validate(document)
    assert document["info"] == {**document["info"], "title": "FastAPI chat",
                                "version": "1.0.0"}
    assert "Said" in document["components"]["schemas"]


def test_example_under_uvicorn_with_the_js_client(chat: ModuleType) -> None:
    import uvicorn

    node_modules()
    node = require_tool("node")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(chat.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 10, "uvicorn to start")
        done = subprocess.run([node, str(JS_DIR / "client.js"), f"http://127.0.0.1:{port}",
                               "example"], capture_output=True, text=True, timeout=30,
                              cwd=JS_DIR)
    finally:
        server.should_exit = True
        thread.join(10)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    said = {"room": "python", "nickname": "ann", "text": "hi from node"}
    assert result == {"ack": said, "said": said, "error": "validation_error"}
