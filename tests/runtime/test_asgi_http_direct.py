"""Long-polling responses written in one piece on uvicorn (runtime/asgi_http.py).

Raw HTTP/1.1 on real uvicorn servers (httptools, and h11 which keeps the ASGI path): the
responses must be exactly what uvicorn itself would have sent (status line, its date and
server headers, our headers, a content length), keep-alive and pipelined requests must
keep working, ``Connection: close`` must close, HEAD keeps uvicorn's handling, and the
access log still gets its line.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations.runtime import asgi, asgi_http

from .live import free_port, wait_until


@contextmanager
def _uvicorn(http: str = "httptools", access_log: bool = False) -> Iterator[int]:
    import uvicorn

    sio = socketio.AsyncServer(async_mode="asgi")

    @sio.event  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: Any) -> Any:
        return data

    port = free_port()
    config = uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port, http=http,
                            loop="asyncio", lifespan="off", log_level="info",
                            access_log=access_log)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn to start")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


class Conn:
    """One keep-alive HTTP/1.1 connection, responses parsed by Content-Length."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, method: str, query: str, body: bytes = b"", extra: str = "") -> None:
        head = f"{method} /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
        if method == "POST":
            head += f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)

    def response(self, head_only: bool = False) -> tuple[str, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, f"duplicate header {name}"
            headers[name.lower()] = value.strip()
        assert "transfer-encoding" not in headers
        length = 0 if head_only else int(headers["content-length"])
        while len(self.buf) < length:
            self._more()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True


def _handshake(conn: Conn) -> str:
    conn.send("GET", "EIO=4&transport=polling")
    status, headers, body = conn.response()
    assert status == "HTTP/1.1 200 OK", status
    return f"EIO=4&transport=polling&sid={json.loads(body[1:])['sid']}"


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_polling_exchange_on_one_keep_alive_connection(
        http: str, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bool] = []

    def counting(*args: Any) -> bool:
        done = asgi_http.respond_now(*args)
        written.append(done)
        return done

    monkeypatch.setattr(asgi, "respond_now", counting)
    with _uvicorn(http) as port:
        conn = Conn(port)
        query = _handshake(conn)
        conn.send("POST", query, b"40")
        status, headers, body = conn.response()
        assert (status, body) == ("HTTP/1.1 200 OK", b"ok")
        assert headers["content-type"] == "text/html" and headers["content-length"] == "2"
        assert headers["server"] == "uvicorn" and headers["date"]
        conn.send("GET", query)
        status, headers, body = conn.response()
        assert body.startswith(b"40{") and headers["content-type"] == "text/plain; charset=UTF-8"
        poster = Conn(port)  # a second connection for the POSTs, as browsers do
        for n in range(50):  # many exchanges: keep-alive holds, nothing is left over
            conn.send("GET", query)
            poster.send("POST", query, b'420["echo",%d]' % n)
            poster.send("POST", query, b'421["echo",%d]' % n)  # pipelined behind the first
            assert poster.response()[2] == b"ok" and poster.response()[2] == b"ok"
            acks = conn.response()[2].split(b"\x1e")
            if len(acks) == 1:  # the second ack came after the GET was answered
                conn.send("GET", query)
                acks += conn.response()[2].split(b"\x1e")
            assert acks == [b"430[%d]" % n, b"431[%d]" % n]
        assert conn.buf == b"" and poster.buf == b""
    # httptools: every answer went out in one piece; h11: always the ASGI messages (the
    # one-piece write is not even tried on a connection that is not httptools')
    if http == "httptools":
        assert len(written) >= 150 and all(written)
    else:
        assert written == []


def test_connection_close_is_honoured() -> None:
    with _uvicorn() as port:
        conn = Conn(port)
        query = _handshake(conn)
        conn.send("POST", query, b"40", extra="Connection: close\r\n")
        status, headers, body = conn.response()
        assert body == b"ok" and headers["connection"] == "close"
        assert wait_until(conn.closed_by_peer, 5, "the server to close")


def test_head_and_errors_keep_uvicorns_handling() -> None:
    with _uvicorn() as port:
        conn = Conn(port)
        conn.send("HEAD", "EIO=4&transport=polling")
        status, headers, _ = conn.response(head_only=True)
        assert status.startswith("HTTP/1.1 400") and headers["content-type"] == "application/json"
        conn.send("GET", "EIO=4&transport=polling&sid=unknown")
        status, headers, body = conn.response()
        assert status == "HTTP/1.1 400 Bad Request"
        assert json.loads(body) == {"code": 1, "message": "Session ID unknown"}


def test_access_log_line_is_written() -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    with _uvicorn(access_log=True) as port:
        handler = Collect()
        logging.getLogger("uvicorn.access").addHandler(handler)  # (uvicorn's do not propagate)
        try:
            conn = Conn(port)
            query = _handshake(conn)
            conn.send("POST", query, b"40")
            assert conn.response()[2] == b"ok"
            wait_until(lambda: any(f"POST /socket.io/?{query} HTTP/1.1" in line
                                   and line.endswith(" 200") for line in lines), 5, "the line")
        finally:
            logging.getLogger("uvicorn.access").removeHandler(handler)


def test_header_blocks_are_checked_like_uvicorn_does() -> None:
    default = [(b"server", b"uvicorn")]
    assert asgi_http._head(default, [(b"content-type", b"text/html")], True) == (
        b"server: uvicorn\r\ncontent-type: text/html\r\n")
    assert asgi_http._head(default, [], False) == (
        b"server: uvicorn\r\nconnection: close\r\n")
    # a value uvicorn refuses, or a framing header: the ASGI path decides
    assert asgi_http._head(default, [(b"x-bad", b"a\nb")], True) is None
    assert asgi_http._head(default, [(b"bad name", b"x")], True) is None
    assert asgi_http._head(default, [(b"content-length", b"1")], True) is None


def test_not_uvicorn_means_not_written() -> None:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    assert not asgi_http.respond_now(send, 200, [], b"x")
    assert sent == []
