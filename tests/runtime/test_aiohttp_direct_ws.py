"""The direct websocket path on aiohttp (runtime/aiohttp_direct.py) against real clients.

Every test runs a real aiohttp server (``AppRunner`` + ``TCPSite`` on 127.0.0.1) in a
thread and checks on the server whether the connection was taken over (``direct`` on the
engine's record of the client) as well as what the peers see and what aiohttp still
counts. The clients and the byte-level websocket come from direct_ws_support.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio as reference  # python-socketio: the test peer
import websockets.sync.client

from sio_integrations.runtime.logs import warning_limiter

from .client_node import need
from .direct_ws_support import (
    AiohttpServed,
    NodeClient,
    RawWS,
    Served,
    client_frame,
)
from .direct_ws_support import serve_aiohttp as serve
from .live import wait_until

TRANSPORTS = {"websocket": ["websocket"], "upgrade": ["polling", "websocket"]}


def stop(served: AiohttpServed, timeout: float = 20) -> float:
    """aiohttp's graceful shutdown (``runner.cleanup()``); returns the seconds it took."""
    start = time.monotonic()
    served.run(served.runner.cleanup(), timeout=timeout)
    return time.monotonic() - start


@pytest.fixture(autouse=True)
def fresh_warning_limit() -> Iterator[None]:
    warning_limiter.configure()
    yield
    warning_limiter.configure()


@pytest.fixture(scope="module")
def served() -> Iterator[AiohttpServed]:
    with serve({"max_http_buffer_size": 100_000}) as running:
        yield running


def py_client(served: Served, transports: list[str]) -> Any:
    kwargs: dict[str, Any] = {}
    if served.scheme == "https":  # a self-signed certificate; ignore REQUESTS_CA_BUNDLE
        session = requests.Session()
        session.trust_env = False
        session.verify = False
        kwargs.update(http_session=session, ssl_verify=False)
    client = reference.Client(reconnection=False, **kwargs)
    news: list[Any] = []
    client.on("news", news.append)
    client.news = news  # type: ignore[attr-defined]
    client.connect(served.url, transports=transports, wait_timeout=10)
    return client


def assert_echo(client: Any, value: Any = "still here") -> None:
    assert client.call("echo", value, timeout=10) == value


class Bystander:
    """A well-behaved client connected during a test; it must keep working."""

    def __init__(self, served: Served) -> None:
        self.client = py_client(served, ["websocket"])
        assert served.is_direct(self.client.get_sid())

    def check(self) -> None:
        for value in ("a", {"k": [1, 2]}, "é" * 3000):
            assert_echo(self.client, value)


@pytest.fixture
def bystander(served: AiohttpServed) -> Iterator[Bystander]:
    by = Bystander(served)
    yield by
    by.check()
    by.client.disconnect()


def _forgotten(served: AiohttpServed, raw: RawWS) -> None:
    """aiohttp no longer counts ``raw``'s connection (its server forgot it)."""
    port = raw.local_port  # type: ignore[attr-defined]

    def gone() -> bool:
        return all(conn.transport is None or conn.transport.get_extra_info("peername")[1]
                   != port for conn in served.runner.server.connections)

    wait_until(gone, 10, "aiohttp to forget the connection")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("sio_integrations") and r.levelno >= logging.WARNING]


# -- the takeover happens, the fallbacks work ------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_python_client_is_taken_over(served: AiohttpServed, transport: str) -> None:
    a = py_client(served, TRANSPORTS[transport])
    b = py_client(served, TRANSPORTS[transport])
    try:
        for client in (a, b):
            wait_until(lambda c=client: served.is_direct(c.get_sid()), 10, "the takeover")
            assert client.transport() == "websocket"
        for value in ("héllo ✓", {"n": 1, "big": "y" * 70000}, [1, None, True], b"\x00\xff" * 50):
            assert_echo(a, value)
        assert a.call("bcast", "hi", timeout=10) == "sent"
        wait_until(lambda: a.news and b.news, 10, "the broadcast")
        assert a.news == ["hi"] and b.news == ["hi"]
    finally:
        a.disconnect()
        b.disconnect()


def _node(served: Served, transport: str, deflate: Any) -> tuple[dict[str, Any], bool]:
    node = NodeClient(served.url, TRANSPORTS[transport], per_message_deflate=deflate)
    try:
        result = node.result()
        ws = served.websocket(result["sid"])
        direct = ws is not None
        # DeflateWebSocket when permessage-deflate was negotiated
        kind = type(ws).__name__
    finally:
        node.finish()
    assert result["transport"] == "websocket"
    assert result["echoes"] == ["héllo", {"n": 1, "big": "y" * 5000}, [1, 2, 3]]
    assert result["news"] == ["from-js"]
    result["websocket"] = kind
    return result, direct


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_js_client_without_compression_is_taken_over(served: AiohttpServed,
                                                     transport: str) -> None:
    result, direct = _node(served, transport, False)
    assert result["extensions"] == ""
    assert direct and result["websocket"] == "DirectWebSocket"


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_js_client_with_its_default_options(served: AiohttpServed, transport: str) -> None:
    """socket.io-client in node offers permessage-deflate (as browsers do) and we accept
    it: such a connection is taken over too (we inflate and deflate), and works."""
    result, direct = _node(served, transport, None)
    assert "permessage-deflate" in result["extensions"]
    assert direct and result["websocket"] == "DeflateWebSocket"


def _eio_text(ws: Any) -> str:
    while True:
        message = ws.recv(timeout=10)
        if message != "2":
            return str(message)
        ws.send("3")


def test_permessage_deflate_client_is_taken_over(served: AiohttpServed,
                                                 bystander: Bystander) -> None:
    url = served.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    with websockets.sync.client.connect(url, compression="deflate") as ws:
        assert "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions")
                                        or "")
        assert _eio_text(ws).startswith("0{")
        ws.send("40")
        sid = json.loads(_eio_text(ws)[2:])["sid"]
        assert served.is_direct(sid)
        big = "z" * 50000
        ws.send(f'421["echo","{big}"]')
        assert _eio_text(ws) == f'431["{big}"]'
    wait_until(lambda: any(s == sid for s, _ in served.disconnects), 10, "the disconnect")


def test_declining_permessage_deflate_takes_every_client_over() -> None:
    """With the driver's ``websocket_deflate = False`` a client offering the extension
    (the JS client's defaults, like a browser) is answered without it and taken over."""
    with serve() as running:
        running.sio.eio.driver.websocket_deflate = False
        result, direct = _node(running, "websocket", None)
        assert result["extensions"] == ""
        assert direct
        url = running.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        with websockets.sync.client.connect(url, compression="deflate") as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            assert _eio_text(ws).startswith("0{")
            ws.send("40")
            assert running.is_direct(json.loads(_eio_text(ws)[2:])["sid"])
            ws.send('421["echo","plain frames"]')
            assert _eio_text(ws) == '431["plain frames"]'


def test_the_direct_path_can_be_switched_off() -> None:
    with serve() as running:
        running.sio.eio.driver.direct_websockets = False
        a = py_client(running, ["websocket"])
        try:
            assert not running.is_direct(a.get_sid())
            assert_echo(a, "plain aiohttp")
        finally:
            a.disconnect()


def test_data_sent_with_the_upgrade_request_keeps_aiohttps_path(served: AiohttpServed
                                                               ) -> None:
    """A client that sends a frame before it saw the 101 (in the same write as its
    request): aiohttp's parser already holds it, so the connection is not taken over."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    try:
        sock.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + client_frame(1, b"40"))
        data = b""
        deadline = time.monotonic() + 10
        while b'40{"sid"' not in data and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 101") and b'40{"sid"' in data, data
        sid = json.loads(data[data.index(b'40{"sid"') + 2:].split(b"}")[0] + b"}")["sid"]
        assert not served.is_direct(sid)
    finally:
        sock.close()


def test_a_response_prepare_hook_that_waits_keeps_aiohttps_path() -> None:
    """An ``on_response_prepare`` hook that really waits lets the loop run during the
    handshake (bytes may reach aiohttp's parser): no takeover, and everything works."""
    async def hook(request: Any, response: Any) -> None:
        await asyncio.sleep(0.01)

    with serve(on_prepare=hook) as running:
        a = py_client(running, ["websocket"])
        try:
            assert not running.is_direct(a.get_sid())
            assert_echo(a, "after a slow hook")
        finally:
            a.disconnect()
        running.wait_disconnect(0)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    need(openssl is not None, "openssl is not installed")
    assert openssl is not None
    folder = tmp_path_factory.mktemp("aiohttp-direct-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_tls_is_taken_over(tls_files: tuple[Path, Path], transport: str) -> None:
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(str(cert), str(key))
    with serve(tls=server_context) as running:
        a = py_client(running, TRANSPORTS[transport])
        try:
            wait_until(lambda: running.is_direct(a.get_sid()), 10, "the takeover")
            for value in ("wss ✓", {"big": "t" * 200_000}, b"\x00" * 1000):
                assert_echo(a, value)
        finally:
            a.disconnect()
        sock = RawWS(running.port, tls=ssl.create_default_context(cafile=str(cert)))
        try:
            assert running.is_direct(sock.sid)
            sock.send(client_frame(9, b"tls ping"))
            assert sock.read_frame() == (0xA, b"tls ping")
            sock.text('425["echo","over wss"]')
            assert sock.read_text() == '435["over wss"]'
            sock.send(client_frame(1, b"x", masked=False))
            assert sock.read_close() == 1002
        finally:
            sock.close()


# -- raw protocol behaviour on the direct path -----------------------------------------------

@pytest.fixture
def raw(served: AiohttpServed) -> Iterator[RawWS]:
    sock = RawWS(served.port)
    assert served.is_direct(sock.sid)
    sock.local_port = sock.sock.getsockname()[1]  # type: ignore[attr-defined]
    yield sock
    sock.close()


@pytest.mark.parametrize("case, code", [
    ("unmasked", 1002),
    ("reserved-bits", 1002),
    ("unknown-opcode", 1002),
    ("long-ping", 1002),
    ("orphan-continuation", 1002),
    ("invalid-utf8", 1007),
    ("too-big", 1009),
])
def test_protocol_errors_close_with_their_code(served: AiohttpServed, raw: RawWS,
                                               bystander: Bystander,
                                               caplog: pytest.LogCaptureFixture,
                                               case: str, code: int) -> None:
    caplog.set_level(logging.WARNING)
    count = len(served.disconnects)
    raw.send({
        "unmasked": client_frame(1, b'42["echo",1]', masked=False),
        "reserved-bits": bytes([0xC1]) + client_frame(1, b"x")[1:],
        "unknown-opcode": client_frame(5, b"x"),
        "long-ping": client_frame(9, b"p" * 126),
        "orphan-continuation": client_frame(0, b"x"),
        "invalid-utf8": client_frame(1, b"42\xff\xfe"),
        "too-big": client_frame(1, b"", length=1 << 30)[:-4] + b"\x00\x00\x00\x00",
    }[case])
    assert raw.read_close() == code
    assert raw.eof(), "the server keeps the TCP connection open"
    assert served.wait_disconnect(count) == (raw.sid, "transport error")
    lines = _warnings(caplog)
    assert len(lines) == 1 and "protocol error" in lines[0] and raw.eio_sid in lines[0], lines
    _forgotten(served, raw)


def test_websocket_ping_gets_a_pong_with_its_payload(raw: RawWS, bystander: Bystander) -> None:
    for payload in (b"", b"abc", bytes(range(125))):
        raw.send(client_frame(9, payload))
        assert raw.read_frame() == (0xA, payload)
    raw.text('421["echo","after ping"]')
    assert raw.read_text() == '431["after ping"]'


def test_client_close_frame(served: AiohttpServed, raw: RawWS, bystander: Bystander) -> None:
    count = len(served.disconnects)
    raw.send(client_frame(8, struct.pack(">H", 1001) + b"going away"))
    assert raw.read_close() == 1001
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport close")
    _forgotten(served, raw)


def test_tcp_reset_without_close_frame(served: AiohttpServed, raw: RawWS,
                                       bystander: Bystander) -> None:
    count = len(served.disconnects)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.sock.close()
    assert served.wait_disconnect(count) == (raw.sid, "transport close")
    _forgotten(served, raw)


def test_server_disconnects(served: AiohttpServed, raw: RawWS, bystander: Bystander) -> None:
    count = len(served.disconnects)
    served.run(served.sio.disconnect(raw.sid))
    assert raw.read_text() == "41"
    assert served.wait_disconnect(count) == (raw.sid, "server disconnect")
    served.run(served.sio.eio.close(raw.eio_sid))
    assert raw.read_text() == "1"
    assert raw.read_close() == 1000
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.eof()
    _forgotten(served, raw)


@pytest.mark.parametrize("numbers", [[1, 4, 2], [0, 1, 3, 2]])  # 0 and 3 wait
def test_messages_with_the_close_frame_are_handled_in_order(
        served: AiohttpServed, numbers: list[int]) -> None:
    sock = RawWS(served.port)
    try:
        count = len(served.disconnects)
        sock.send(b"".join(client_frame(1, f'42["seq",{n}]'.encode()) for n in numbers)
                  + client_frame(1, b"41") + client_frame(8, struct.pack(">H", 1000)))
        assert sock.read_close() == 1000
        assert sock.eof()
        assert served.wait_disconnect(count) == (sock.sid, "client disconnect")
        assert served.received.get(sock.sid) == numbers
    finally:
        sock.close()


def test_burst_in_one_tcp_write_while_handlers_wait(served: AiohttpServed) -> None:
    sock = RawWS(served.port)
    try:
        sock.send(b"".join(client_frame(1, f'42{n}["seq",{n}]'.encode())
                           for n in range(300)))
        acks = []
        while len(acks) < 300:
            text = sock.read_text()
            assert text.startswith("43"), text
            acks.append(int(text[2:].split("[", 1)[0]))
        assert acks == list(range(300))
        assert served.received[sock.sid] == list(range(300))
    finally:
        sock.close()


# -- slow consumer ---------------------------------------------------------------------------

def test_slow_consumer_is_dropped_without_blocking_the_sender(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with serve({"max_send_buffer_size": 1_000_000}) as running:
        slow = RawWS(running.port, rcvbuf=4096)
        assert running.is_direct(slow.sid)
        got: list[int] = []
        done = threading.Event()
        b = reference.Client(reconnection=False)

        def on_data(data: list[Any]) -> None:
            got.append(data[0])
            if len(got) == 600:
                done.set()

        b.on("data", on_data)
        b.connect(running.url, transports=["websocket"], wait_timeout=10)
        try:
            assert running.is_direct(b.get_sid())
            elapsed = b.call("flood", (600, 8192, True), timeout=30)
            assert elapsed < 5, f"the broadcast loop took {elapsed:.1f} s"
            assert done.wait(30), f"B got {len(got)} of 600"
            # python-socketio's client runs each handler on a thread of its own: the
            # order it sees is not the wire's (the server's order is checked elsewhere)
            assert sorted(got) == list(range(600))
            wait_until(lambda: any(s == slow.sid for s, _ in running.disconnects), 10,
                       "the slow consumer's disconnect")
            assert running.disconnects == [(slow.sid, "transport error")]
            lines = _warnings(caplog)
            assert len(lines) == 1 and "max_send_buffer_size" in lines[0], lines
            assert_echo(b, "B is fine")
            b.disconnect()
            wait_until(lambda: running.connections() == 0, 10,
                       "aiohttp to forget the slow consumer's connection")
        finally:
            if b.connected:
                b.disconnect()
            slow.close()


# -- ordered handlers ------------------------------------------------------------------------

def test_waiting_handlers_keep_the_order(served: AiohttpServed) -> None:
    clients = [py_client(served, ["websocket"]) for _ in range(2)]
    try:
        results: dict[str, list[int]] = {}

        def numbered(client: Any) -> None:
            acks: list[int] = []
            done = threading.Event()

            def ack(n: int) -> None:
                acks.append(n)
                if len(acks) == 300:
                    done.set()

            for n in range(300):
                client.emit("seq", n, callback=ack)
            assert done.wait(60)
            results[client.get_sid()] = acks

        threads = [threading.Thread(target=numbered, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        for client in clients:
            sid = client.get_sid()
            assert served.is_direct(sid)
            assert sorted(results[sid]) == list(range(300))  # acks: one thread each
            assert served.received[sid] == list(range(300))
    finally:
        for client in clients:
            client.disconnect()


# -- aiohttp's graceful shutdown ---------------------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_runner_cleanup_with_taken_over_connections(transport: str) -> None:
    """``runner.cleanup()`` closes our websockets at once (1001) instead of waiting for its
    shutdown timeout; the server's disconnect handler runs for every client."""
    with serve(shutdown_timeout=30) as running:
        clients = [py_client(running, TRANSPORTS[transport]) for _ in range(3)]
        gone = [threading.Event() for _ in clients]
        for client, event in zip(clients, gone, strict=True):
            client.on("disconnect", lambda *a, e=event: e.set())
            wait_until(lambda c=client: running.is_direct(c.get_sid()), 10, "the takeover")
        sock = RawWS(running.port)
        try:
            assert stop(running) < 10
            for event in gone:
                assert event.wait(10)
            assert sock.read_close() == 1001
            sock.send(client_frame(8, struct.pack(">H", 1001)))
            assert sock.eof()
            wait_until(lambda: len(running.disconnects) == 4, 10, "4 disconnects")
            assert {reason for _, reason in running.disconnects} == {"server shutting down"}
        finally:
            sock.close()


def test_handler_cancellation_still_ends_the_session() -> None:
    """With aiohttp's ``handler_cancellation=True`` a lost connection cancels the request
    handler: the engine must still end the session (disconnect handler called)."""
    with serve(handler_cancellation=True) as running:
        async def disconnect(sid: str, reason: str) -> None:
            await asyncio.sleep(0.05)  # a handler that waits must not be cut off
            running.disconnects.append((sid, reason))

        running.sio.on("disconnect", disconnect)
        engine = running.sio.eio
        close_client = engine._close_client
        cancelling: list[int] = []

        async def recording_close(client: Any, reason: str) -> None:
            task = asyncio.current_task()
            cancelling.append(task.cancelling() if task is not None else -1)
            await close_client(client, reason)

        engine._close_client = recording_close
        sock = RawWS(running.port)
        assert running.is_direct(sock.sid)
        sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sock.close()
        assert running.wait_disconnect(0) == (sock.sid, "transport close")
        wait_until(lambda: not running.sio.eio._clients, 10, "the engine to forget it")
        assert cancelling == [0], "the engine ended the session in a cancelled task"
        a = py_client(running, ["websocket"])
        try:
            assert_echo(a, "after a cancelled handler")
        finally:
            a.disconnect()


def test_environ_carries_the_peer_address(served: AiohttpServed) -> None:
    """engineio's aiohttp translation says 127.0.0.1 for everyone; ours the real peer
    (here 127.0.0.2, a loopback address of its own), for logs and per-IP rate limits."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10,
                                  source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while b'"sid":"' not in answer:
            chunk = sock.recv(4096)
            assert chunk, answer
            answer += chunk
    eio_sid = answer.split(b'"sid":"', 1)[1].split(b'"', 1)[0].decode()
    environ = served.sio.eio.environ(eio_sid)
    assert environ["REMOTE_ADDR"] == "127.0.0.2"
