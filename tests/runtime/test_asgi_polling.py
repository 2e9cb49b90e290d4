"""The ASGI driver's long-polling path, driven in-process with ASGI callables.

Covers what the fast path must keep: every header in the environ a connect handler gets,
every header for a callable CORS policy on a session request, POST bodies that arrive
with the request, later, in chunks, over the limit or never, and the response framing.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations.runtime import asgi
from sio_integrations.runtime._async.engine_transports import READY_BODY

Message = dict[str, Any]
BROWSER_HEADERS = [
    (b"host", b"example.com"), (b"user-agent", b"Mozilla/5.0"), (b"accept", b"*/*"),
    (b"cookie", b"io=abc; session=xyz"), (b"x-token", b"t1"), (b"x-token", b"t2"),
    (b"accept-language", b"en"), (b"content-type", b"text/plain;charset=UTF-8"),
]


def _scope(method: str, query: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": "/socket.io/", "raw_path": b"/socket.io/",
        "query_string": query.encode(), "root_path": "", "headers": headers,
        "client": ("10.0.0.7", 4321), "server": ("example.com", 80),
    }


class Response:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.body = b""
        self.complete = asyncio.Event()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
        else:
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                self.complete.set()


async def _request(app: Any, method: str, query: str, *,
                   headers: list[tuple[bytes, bytes]] | None = None,
                   receive: Callable[[], Awaitable[Message]] | None = None,
                   body: bytes = b"") -> Response:
    response = Response()
    sent = False

    async def one_body() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await response.complete.wait()  # as a server does: the client stays till the end
        return {"type": "http.disconnect"}

    hs = list(headers or BROWSER_HEADERS)
    if method == "POST" and receive is None:
        hs.append((b"content-length", str(len(body)).encode()))
    await asyncio.wait_for(app(_scope(method, query, hs), receive or one_body, response.send), 10)
    return response


def _server(**kwargs: Any) -> tuple[socketio.AsyncServer, Any, list[dict[str, Any]]]:
    sio = socketio.AsyncServer(async_mode="asgi", **kwargs)
    environs: list[dict[str, Any]] = []

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any]) -> None:
        environs.append(environ)

    @sio.event  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: Any) -> Any:
        return data

    return sio, socketio.ASGIApp(sio), environs


async def _open(app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> str:
    response = await _request(app, "GET", "EIO=4&transport=polling", headers=headers)
    assert response.status == 200, response.body
    sid: str = json.loads(response.body[1:])["sid"]
    query = f"EIO=4&transport=polling&sid={sid}"
    assert (await _request(app, "POST", query, body=b"40", headers=headers)).body == b"ok"
    reply = await _request(app, "GET", query, headers=headers)
    assert reply.body.startswith(b"40{"), reply.body
    return query


def test_connect_handler_sees_every_header() -> None:
    async def main() -> None:
        sio, app, environs = _server()
        await _open(app)
        (environ,) = environs
        assert environ["HTTP_HOST"] == "example.com"
        assert environ["HTTP_USER_AGENT"] == "Mozilla/5.0"
        assert environ["HTTP_COOKIE"] == "io=abc; session=xyz"
        assert environ["HTTP_X_TOKEN"] == "t1,t2"
        assert environ["HTTP_ACCEPT_LANGUAGE"] == "en"
        assert environ["CONTENT_TYPE"] == "text/plain;charset=UTF-8"
        assert environ["REMOTE_ADDR"] == "10.0.0.7" and environ["REMOTE_PORT"] == "4321"
        assert environ["SERVER_NAME"] == "example.com" and environ["SERVER_PORT"] == "80"
        assert environ["wsgi.url_scheme"] == "http" and environ["SCRIPT_NAME"] == ""
        assert environ["QUERY_STRING"] == "EIO=4&transport=polling"
        assert environ["RAW_URI"] == "/socket.io/?EIO=4&transport=polling"
        assert environ["asgi.scope"]["type"] == "http"
        assert sio.get_environ(next(iter(sio.manager.get_participants("/", None)))[0]) \
            is environ
        await sio.shutdown()

    asyncio.run(main())


def test_session_environ_and_full_environ() -> None:
    scope = _scope("POST", "EIO=4&transport=polling&sid=abc",
                   [*BROWSER_HEADERS, (b"Origin", b"http://example.com"),
                    (b"content-length", b"2"), (b"accept-encoding", b"gzip")])
    driver = asgi.ASGIDriver()
    environ = asyncio.run(driver.translate(
        scope, _feeder([{"type": "http.request", "body": b"40"}]), _never))
    assert environ[READY_BODY] == b"40"  # the host had the body: taken at once
    # what the engine reads is there, with mixed-case names too
    assert environ["HTTP_ORIGIN"] == "http://example.com"
    assert environ["HTTP_HOST"] == "example.com" and environ["CONTENT_LENGTH"] == "2"
    assert environ["HTTP_ACCEPT_ENCODING"] == "gzip"
    assert environ["REQUEST_METHOD"] == "POST" and environ["REMOTE_ADDR"] == "10.0.0.7"
    assert environ["QUERY_STRING"] == "EIO=4&transport=polling&sid=abc"
    assert "HTTP_COOKIE" not in environ
    full = driver.full_environ(environ)
    assert full["HTTP_COOKIE"] == "io=abc; session=xyz" and full["HTTP_X_TOKEN"] == "t1,t2"
    assert full["HTTP_ORIGIN"] == "http://example.com" and full["SERVER_PORT"] == "80"
    assert driver.full_environ(full) is full
    # a handshake (and anything not naming a sid) gets the complete environ directly
    for query in ("EIO=4&transport=polling", "EIO=4&transport=polling&xsid=abc"):
        handshake = asyncio.run(driver.translate(_scope("GET", query, BROWSER_HEADERS),
                                                 _never, _never))
        assert handshake["HTTP_COOKIE"] == "io=abc; session=xyz"
        assert driver.full_environ(handshake) is handshake


async def _never() -> Message:
    raise AssertionError("not received here")


def test_callable_cors_policy_sees_every_header_on_session_requests() -> None:
    seen: list[tuple[str, str]] = []

    def policy(origin: str, environ: dict[str, Any]) -> bool:
        seen.append((environ["REQUEST_METHOD"], environ.get("HTTP_X_TOKEN", "")))
        return environ.get("HTTP_X_TOKEN") == "t1,t2"

    async def main() -> None:
        sio, app, _ = _server(cors_allowed_origins=policy)
        headers = [*BROWSER_HEADERS, (b"origin", b"http://other.example")]
        query = await _open(app, headers)
        post = await _request(app, "POST", query, body=b'420["echo",1]', headers=headers)
        assert post.status == 200 and post.body == b"ok"
        assert post.headers[b"access-control-allow-origin"] == b"http://other.example"
        assert (await _request(app, "GET", query, headers=headers)).body == b"430[1]"
        refused = [(k, v) for k, v in headers if k != b"x-token"]
        bad = await _request(app, "POST", query, body=b'420["echo",1]', headers=refused)
        assert bad.status == 400 and json.loads(bad.body)["code"] == 4
        await sio.shutdown()

    asyncio.run(main())
    assert ("POST", "t1,t2") in seen and ("GET", "t1,t2") in seen and ("POST", "") in seen


def test_responses_have_a_content_length() -> None:
    async def main() -> None:
        sio, app, _ = _server()
        query = await _open(app)
        post = await _request(app, "POST", query, body=b'420["echo","x"]')
        assert post.headers[b"content-length"] == b"2"
        assert post.headers[b"content-type"] == b"text/html"
        get = await _request(app, "GET", query)
        assert get.body == b'430["x"]'
        assert get.headers[b"content-length"] == str(len(get.body)).encode()
        assert b"transfer-encoding" not in get.headers
        preflight = await _request(app, "OPTIONS", query,
                                    headers=[(b"origin", b"http://example.com"),
                                             (b"host", b"example.com")])
        assert preflight.status == 204 and b"content-length" not in preflight.headers
        await sio.shutdown()

    asyncio.run(main())


def _feeder(messages: list[Message], gate: asyncio.Event | None = None
            ) -> Callable[[], Awaitable[Message]]:
    async def receive() -> Message:
        if gate is not None:
            await gate.wait()  # the body is not there when the request starts
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


@pytest.mark.parametrize("late", [False, True])
def test_post_body_in_chunks_and_late(late: bool) -> None:
    async def main() -> None:
        sio, app, _ = _server()
        query = await _open(app)
        gate = asyncio.Event() if late else None
        chunks: list[Message] = [
            {"type": "http.request", "body": b'420["ec', "more_body": True},
            {"type": "http.request", "body": b'ho","late"]', "more_body": False},
        ]
        post = asyncio.ensure_future(
            _request(app, "POST", query, receive=_feeder(chunks, gate)))
        if gate is not None:
            await asyncio.sleep(0.05)
            assert not post.done()  # waiting for its body
            gate.set()
        assert (await post).body == b"ok"
        assert (await _request(app, "GET", query)).body == b'430["late"]'
        await sio.shutdown()

    asyncio.run(main())


def test_post_body_over_the_limit_in_chunks_closes_the_session() -> None:
    async def main() -> None:
        sio, app, _ = _server(max_http_buffer_size=100)
        query = await _open(app)
        chunks: list[Message] = [
            {"type": "http.request", "body": b"4" + b"x" * 60, "more_body": True},
            {"type": "http.request", "body": b"x" * 60, "more_body": False},
        ]
        post = await _request(app, "POST", query, receive=_feeder(chunks))
        assert post.status == 400
        again = await _request(app, "POST", query, body=b"40")
        assert again.status == 400 and json.loads(again.body)["code"] == 1  # session gone
        await sio.shutdown()

    asyncio.run(main())


def test_post_whose_client_leaves_before_the_body() -> None:
    async def main() -> None:
        sio, app, _ = _server()
        query = await _open(app)
        post = await _request(app, "POST", query, receive=_feeder([]))  # http.disconnect
        assert post.status == 400
        await sio.shutdown()

    asyncio.run(main())


def test_refused_post_with_a_pending_body_leaves_nothing_behind() -> None:
    async def main() -> None:
        sio, app, _ = _server()
        gate = asyncio.Event()
        receive = _feeder([{"type": "http.request", "body": b"40", "more_body": False}], gate)
        unknown = "EIO=4&transport=polling&sid=nosuchsession"
        response = await _request(app, "POST", unknown, receive=receive)
        assert response.status == 400 and json.loads(response.body)["code"] == 1
        await sio.shutdown()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "coroutine ... was never awaited"
        asyncio.run(main())
        import gc

        gc.collect()


def test_ready_body_key_is_the_engines() -> None:
    assert asgi.BODY_KEY == READY_BODY


@pytest.mark.parametrize("monitor", [True, False])
def test_a_waiting_get_ends(monitor: bool) -> None:
    """With the heartbeat service a waiting GET is ended by its ping (it waits with no
    timer of its own); without it, by the poll timeout (ping_interval + ping_timeout)."""

    async def main() -> None:
        sio, app, _ = _server(ping_interval=0.2, ping_timeout=0.2, monitor_clients=monitor)
        query = await _open(app)
        waiting = asyncio.ensure_future(_request(app, "GET", query))
        done, _ = await asyncio.wait([waiting], timeout=5)
        assert waiting in done
        assert waiting.result().body == (b"2" if monitor else b"6")
        await sio.shutdown()

    asyncio.run(main())


def test_a_waiting_get_is_answered_at_shutdown() -> None:
    async def main() -> None:
        sio, app, _ = _server()
        query = await _open(app)
        waiting = asyncio.ensure_future(_request(app, "GET", query))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await sio.shutdown()
        assert (await asyncio.wait_for(waiting, 5)).body == b"1"

    asyncio.run(main())
