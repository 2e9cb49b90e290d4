"""ASGIApp / WSGIApp routing, static files and lifespan, driven with the ASGI/WSGI callables."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sio_integrations.runtime.asgi import ASGIApp, scope_to_environ
from sio_integrations.runtime.static import StaticFile, resolve_static
from sio_integrations.runtime.wsgi import WSGIApp


class FakeAsyncServer:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def handle_request(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"sio"})


async def _call(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]] | None = None
                ) -> list[dict[str, Any]]:
    queue = list(incoming or [{"type": "http.request", "body": b""}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _http(path: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": "GET", "headers": [], "query_string": b""}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.js").write_text("js")
    (tmp_path / "static" / "index.html").write_text("static index")
    return tmp_path


def test_asgi_routes_socketio_static_and_fallback(site: Path) -> None:
    server = FakeAsyncServer()
    other_paths: list[str] = []

    async def other(scope: dict[str, Any], receive: Any, send: Any) -> None:
        other_paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"other"})

    app = ASGIApp(server, other, static_files={"/": str(site / "index.html"),
                                               "/static": str(site / "static")})
    assert asyncio.run(_call(app, _http("/socket.io/")))[1]["body"] == b"sio"
    assert asyncio.run(_call(app, _http("/socket.io")))[1]["body"] == b"sio"
    sent = asyncio.run(_call(app, _http("/")))
    assert sent[0]["headers"] == [(b"content-type", b"text/html")]
    assert sent[1]["body"] == b"<h1>home</h1>"
    sent = asyncio.run(_call(app, _http("/static/app.js")))
    assert (sent[0]["headers"][0][1], sent[1]["body"]) == (b"application/javascript", b"js")
    assert asyncio.run(_call(app, _http("/static/")))[1]["body"] == b"static index"
    assert asyncio.run(_call(app, _http("/static/missing.js")))[1]["body"] == b"other"
    assert asyncio.run(_call(app, _http("/socket.iox")))[1]["body"] == b"other"
    assert server.paths == ["/socket.io/", "/socket.io"]
    assert other_paths == ["/static/missing.js", "/socket.iox"]


def test_asgi_404_and_custom_path() -> None:
    server = FakeAsyncServer()
    app = ASGIApp(server, socketio_path="/ws/io/")
    assert asyncio.run(_call(app, _http("/ws/io/")))[1]["body"] == b"sio"
    sent = asyncio.run(_call(app, _http("/socket.io/")))
    assert sent[0]["status"] == 404
    everything = ASGIApp(server, socketio_path=None)
    assert asyncio.run(_call(everything, _http("/any/path")))[1]["body"] == b"sio"


def test_asgi_lifespan_hooks() -> None:
    calls: list[str] = []

    async def on_shutdown() -> None:
        calls.append("shutdown")

    app = ASGIApp(FakeAsyncServer(), on_startup=lambda: calls.append("startup"),
                  on_shutdown=on_shutdown)
    sent = asyncio.run(_call(app, {"type": "lifespan"},
                             [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    assert calls == ["startup", "shutdown"]

    def broken() -> None:
        raise RuntimeError("no database")

    failing = ASGIApp(FakeAsyncServer(), on_startup=broken)
    sent = asyncio.run(_call(failing, {"type": "lifespan"}, [{"type": "lifespan.startup"}]))
    assert sent[0]["type"] == "lifespan.startup.failed" and "no database" in sent[0]["message"]


def test_asgi_lifespan_goes_to_other_app() -> None:
    seen: list[str] = []

    async def other(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(_call(ASGIApp(FakeAsyncServer(), other), {"type": "lifespan"}))
    assert seen == ["lifespan"]


def test_scope_to_environ() -> None:
    scope = {
        "type": "http", "method": "POST", "path": "/socket.io/", "root_path": "/app",
        "query_string": b"EIO=4&transport=polling", "scheme": "https",
        "client": ("10.1.2.3", 5555), "server": ("example.com", 443),
        "headers": [(b"host", b"example.com"), (b"content-type", b"text/plain"),
                    (b"content-length", b"5"), (b"x-multi", b"a"), (b"x-multi", b"b")],
    }
    environ = scope_to_environ(scope, None, None)  # type: ignore[arg-type]
    assert environ["REMOTE_ADDR"] == "10.1.2.3" and environ["REMOTE_PORT"] == "5555"
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["QUERY_STRING"] == "EIO=4&transport=polling"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["CONTENT_TYPE"] == "text/plain" and environ["CONTENT_LENGTH"] == "5"
    assert environ["HTTP_HOST"] == "example.com" and environ["HTTP_X_MULTI"] == "a,b"
    assert environ["asgi.scope"] is scope
    ws = scope_to_environ({"type": "websocket", "path": "/", "scheme": "wss", "headers": []},
                          None, None)  # type: ignore[arg-type]
    assert ws["wsgi.url_scheme"] == "https" and ws["REQUEST_METHOD"] == "GET"


def test_wsgi_routes(site: Path) -> None:
    class FakeServer:
        def handle_request(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [])
            return [b"sio"]

    def other(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"other"]

    statuses: list[str] = []

    def call(app: Any, path: str) -> bytes:
        return b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"},
                            lambda status, headers: statuses.append(status)))

    app = WSGIApp(FakeServer(), other, static_files={"/": str(site / "index.html")})
    assert call(app, "/socket.io/") == b"sio"
    assert call(app, "/") == b"<h1>home</h1>"
    assert call(app, "/elsewhere") == b"other"
    bare = WSGIApp(FakeServer(), socketio_path="engine.io")
    assert call(bare, "/engine.io/") == b"sio"
    assert call(bare, "/socket.io/") == b"Not Found" and statuses[-1].startswith("404")
    assert call(WSGIApp(FakeServer(), socketio_path=None), "/x") == b"sio"


def test_resolve_static_rules() -> None:
    files = {
        "/": "index.html",
        "/static": "./public",
        "/docs/": {"filename": "site/", "content_type": "text/plain"},
        "/app.js": {"filename": "dist/app.js", "content_type": "text/javascript"},
    }
    assert resolve_static("/", files) == StaticFile(filename="index.html",
                                                    content_type="text/html")
    assert resolve_static("/static/a/b.css", files) == StaticFile(
        filename="./public/a/b.css", content_type="text/css")
    assert resolve_static("/static/", files) == StaticFile(
        filename="./public/index.html", content_type="text/html")
    assert resolve_static("/docs/readme", files) == StaticFile(
        filename="site/readme", content_type="text/plain")
    assert resolve_static("/app.js", files) == StaticFile(
        filename="dist/app.js", content_type="text/javascript")
    assert resolve_static("/static/../secret", files) is None
    assert resolve_static("/nothing", {"/x": "y"}) is None
    assert resolve_static("/x", None) is None
    assert resolve_static("/static/f.unknownext", files) is not None
    with_default = {"/d": "dir/", "": {"filename": "main.html", "content_type": "text/x"}}
    assert resolve_static("/d/", with_default) == StaticFile(filename="dir/main.html",
                                                             content_type="text/x")
