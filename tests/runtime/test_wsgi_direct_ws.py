"""The direct websocket path of the threading mode (runtime/wsgi_direct.py) against real
clients: werkzeug's threaded server in this process (and gunicorn's gthread worker in a
subprocess), python-socketio's client, the JS socket.io-client and hand-made frames."""

from __future__ import annotations

import base64
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio as reference  # python-socketio: the test peer

import sio_integrations as socketio

from .direct_ws_support import NodeClient, RawWS, client_frame
from .live import wait_until

pytestmark = pytest.mark.timeout(120)

TRANSPORTS = {"websocket": ["websocket"], "upgrade": ["polling", "websocket"]}
OPTIONS: dict[str, Any] = {"ping_interval": 20, "ping_timeout": 20}


@dataclass
class Served:
    sio: Any
    port: int
    disconnects: list[tuple[str, str]] = field(default_factory=list)
    connects: list[str] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)  # gated_echo waits on it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, sid: str) -> Any:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        assert eio_sid is not None, f"no engine session for {sid}"
        return self.sio.eio._clients[eio_sid]

    def is_direct(self, sid: str) -> bool:
        record = self.record(sid)
        return record.direct is not None and type(record.ws).__name__ == "SyncDirectWebSocket"

    def reason(self, sid: str, timeout: float = 10) -> str:
        wait_until(lambda: any(s == sid for s, _ in self.disconnects), timeout,
                   f"the disconnect of {sid}")
        return next(r for s, r in self.disconnects if s == sid)


def install(sio: Any, served: Served) -> None:
    @sio.event  # type: ignore[untyped-decorator]
    def connect(sid: str, environ: Any, auth: Any = None) -> None:
        served.connects.append(sid)

    @sio.event  # type: ignore[untyped-decorator]
    def disconnect(sid: str, reason: str) -> None:
        served.disconnects.append((sid, reason))

    @sio.event  # type: ignore[untyped-decorator]
    def echo(sid: str, *args: Any) -> Any:
        return args[0] if len(args) == 1 else tuple(args)

    @sio.event  # type: ignore[untyped-decorator]
    def gated_echo(sid: str, data: Any) -> Any:
        served.gate.wait(20)
        return data

    @sio.event  # type: ignore[untyped-decorator]
    def bcast(sid: str, data: Any) -> str:
        sio.emit("news", data)
        return "sent"

    @sio.event  # type: ignore[untyped-decorator]
    def flood(sid: str, count: int, size: int) -> float:
        """``count`` broadcasts of ``size`` characters; the seconds it took."""
        payload = "x" * size
        start = time.monotonic()
        for i in range(count):
            sio.emit("data", [i, payload])
        return time.monotonic() - start

    @sio.event  # type: ignore[untyped-decorator]
    def burst(sid: str, target: str, threads: int, count: int, binary: bool = False) -> int:
        """``threads`` threads emit ``count`` messages each to ``target`` at once, with
        sizes in every frame length form (7-bit, 16-bit, 64-bit); with ``binary``, every
        fifth is followed by a packet with a binary attachment."""
        sizes = (5, 300, 70_000, 40)
        go = threading.Event()

        def emitter(t: int) -> None:
            go.wait(10)
            for i in range(count):
                size = sizes[(t + i) % len(sizes)]
                sio.emit("burst", [t, i, chr(65 + t % 26) * size], to=target)
                if binary and i % 5 == 0:
                    sio.emit("bin", {"t": t, "i": i, "b": bytes([t % 256]) * size}, to=target)

        workers = [threading.Thread(target=emitter, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        go.set()
        for worker in workers:
            worker.join(60)
        return threads * count


@contextmanager
def serve(options: dict[str, Any] | None = None, *, direct: bool = True) -> Iterator[Served]:
    """Our threading Server as a WSGI app on werkzeug's threaded server, in this process."""
    from werkzeug.serving import make_server

    sio = socketio.Server(async_mode="threading", **{**OPTIONS, **(options or {})})
    sio.eio.driver.direct_websockets = direct
    server = make_server("127.0.0.1", 0, socketio.WSGIApp(sio), threaded=True)
    served = Served(sio=sio, port=server.server_address[1])
    install(sio, served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve({"max_http_buffer_size": 100_000}) as running:
        yield running


@pytest.fixture()
def quiet_werkzeug() -> Iterator[None]:
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def py_client(served: Served, transports: list[str], **kwargs: Any) -> Any:
    client = reference.Client(reconnection=False, **kwargs)
    news: list[Any] = []
    client.on("news", news.append)
    client.news = news  # type: ignore[attr-defined]
    client.connect(served.url, transports=transports, wait_timeout=10)
    return client


def wait_for_websocket(served: Served, sid: str) -> None:
    wait_until(lambda: served.record(sid).session.transport == "websocket", 10,
               "the upgrade to websocket")


@pytest.fixture()
def bystander(served: Served) -> Iterator[Any]:
    """A well-behaved client connected during a test; must keep working."""
    client = py_client(served, ["websocket"])
    assert served.is_direct(client.get_sid())
    yield client
    assert client.call("echo", "bystander ok", timeout=10) == "bystander ok"
    client.disconnect()


@pytest.fixture()
def raw(served: Served) -> Iterator[RawWS]:
    ws = RawWS(served.port)
    yield ws
    ws.close()


def request_threads() -> int:
    """werkzeug request threads still running (one per open connection)."""
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name)


# -- 1. clients ------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_python_client_echo_binary_broadcast(served: Served, transport: str) -> None:
    a = py_client(served, TRANSPORTS[transport])
    b = py_client(served, ["websocket"])
    try:
        sid = a.get_sid()
        wait_for_websocket(served, sid)
        assert served.is_direct(sid) and served.is_direct(b.get_sid())
        assert a.transport() == "websocket"
        for value in ["héllo", {"n": 1, "big": "y" * 70_000}, [1, 2, 3], b"\x00\xffbin",
                      {"nested": [b"one", {"two": b"2" * 300}]}]:
            assert a.call("echo", value, timeout=10) == value
        assert a.call("echo", (1, b"x"), timeout=10) == (1, b"x")
        assert a.call("bcast", {"from": transport}, timeout=10) == "sent"
        wait_until(lambda: a.news and b.news, 10, "the broadcast")
        assert a.news == b.news == [{"from": transport}]
    finally:
        a.disconnect()
        b.disconnect()
    # python-socketio's client may send its close frame before its queued "41" (its
    # writer thread races ws.close()): then the session ends as a transport close
    assert served.reason(sid) in ("client disconnect", "transport close")


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_js_client(served: Served, transport: str) -> None:
    node = NodeClient(served.url, TRANSPORTS[transport])
    try:
        result = node.result()
        assert result["transport"] == "websocket"
        assert served.is_direct(result["sid"])
        assert result["echoes"] == ["héllo", {"n": 1, "big": "y" * 5000}, [1, 2, 3]]
        assert result["news"] == ["from-js"]
        assert not result["extensions"]  # permessage-deflate is never negotiated
    finally:
        node.finish()
    assert served.reason(result["sid"]) == "client disconnect"


def test_the_direct_path_can_be_switched_off() -> None:
    with serve(direct=False) as running:
        client = py_client(running, ["websocket"])
        try:
            record = running.record(client.get_sid())
            assert record.direct is None
            assert type(record.ws).__name__ == "_EngineioSyncWebSocket"
            assert client.call("echo", "via simple-websocket", timeout=10) == (
                "via simple-websocket")
        finally:
            client.disconnect()


def test_gunicorn_gthread_worker_takes_the_direct_path() -> None:
    from tests.interop.harness import ServerProcess, child_env

    apps = Path(__file__).resolve().parent / "hostapps"
    argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "8",
            "-b", "127.0.0.1:0", "--no-control-socket", "--graceful-timeout", "2",
            "--chdir", str(apps), "sync_direct_app:app"]
    server = ServerProcess("gunicorn-gthread-direct", argv, env=child_env(), cwd=apps,
                           port_pattern=r"Listening at: http://127\.0\.0\.1:(\d+)",
                           ready_pattern="APP LOADED")
    try:
        for transports in TRANSPORTS.values():
            client = reference.Client(reconnection=False)
            client.connect(server.url, transports=transports, wait_timeout=10)
            try:
                wait_until(lambda c=client: c.transport() == "websocket", 10, "websocket")
                assert client.call("kind", timeout=10) == "SyncDirectWebSocket"
                assert client.call("echo", {"b": b"\x01" * 70_000}, timeout=10) == {
                    "b": b"\x01" * 70_000}
            finally:
                client.disconnect()
        raw = RawWS(server.port)
        raw.send(client_frame(8, struct.pack(">H", 1000)))
        assert raw.read_close() == 1000
        assert raw.eof()
        assert server.alive()
    finally:
        server.stop()


# -- 2. the opening handshake ----------------------------------------------------------------

def _handshake(port: int, headers: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\n{headers}\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_handshake_accepts_without_extensions(served: Served) -> None:
    raw = RawWS(served.port, extra_headers=(
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"))
    try:
        head = raw.response_head.lower()
        assert "upgrade: websocket" in head and "connection: upgrade" in head
        assert "sec-websocket-extensions" not in head
        raw.text('421["echo","plain"]')
        assert raw.read_text() == '431["plain"]'
    finally:
        raw.close()


def test_accept_key_is_rfc_6455s(served: Served) -> None:
    # the example of RFC 6455 section 1.3
    head = _handshake(served.port, "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head


@pytest.mark.parametrize(("headers", "status"), [
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n", b"400"),
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"
     "Sec-WebSocket-Version: 13\r\n", b"400"),
    ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
     + base64.b64encode(b"k" * 16).decode() + "\r\nSec-WebSocket-Version: 8\r\n", b"426"),
    ("Upgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Key: "
     + base64.b64encode(b"k" * 16).decode() + "\r\nSec-WebSocket-Version: 13\r\n", b"400"),
])
def test_bad_handshakes_get_an_http_error(served: Served, headers: str, status: bytes,
                                          quiet_werkzeug: None) -> None:
    head = _handshake(served.port, headers)
    assert head.startswith(b"HTTP/1.1 " + status), head
    if status == b"426":
        assert b"Sec-WebSocket-Version: 13" in head


# -- 3. frames: ping, fragments, close, protocol errors -------------------------------------

def test_ping_gets_a_pong_with_its_payload(raw: RawWS) -> None:
    raw.send(client_frame(9, b"are you there"))
    assert raw.read_frame() == (0xA, b"are you there")
    raw.text('427["echo",1]')
    assert raw.read_text() == "437[1]"


def test_fragments_with_a_ping_inside(raw: RawWS) -> None:
    message = '423["echo","' + "z" * 200 + '"]'
    data = message.encode()
    raw.send(client_frame(1, data[:10], fin=False) + client_frame(9, b"p")
             + client_frame(0, data[10:100], fin=False))
    assert raw.read_frame() == (0xA, b"p")
    raw.send(client_frame(0, data[100:]))
    assert raw.read_text() == '433["' + "z" * 200 + '"]'


def test_frames_split_at_every_byte(raw: RawWS) -> None:
    data = client_frame(1, b'421["echo","split"]') + client_frame(1, b'422["echo",2]')
    for i in range(len(data)):
        raw.send(data[i:i + 1])
    assert raw.read_text() == '431["split"]'
    assert raw.read_text() == "432[2]"


def test_client_close_frame(served: Served, raw: RawWS, bystander: Any) -> None:
    raw.send(client_frame(8, struct.pack(">H", 1001) + b"bye"))
    assert raw.read_close() == 1001
    assert raw.eof()
    assert served.reason(raw.sid) == "transport close"


def test_nothing_follows_the_close_handshake(served: Served, raw: RawWS) -> None:
    """werkzeug writes no HTTP response after the session (the app raised as
    simple-websocket's driver does)."""
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.read_close() == 1000
    raw.sock.settimeout(5)
    rest = b""
    while True:
        chunk = raw.sock.recv(4096)
        if not chunk:
            break
        rest += chunk
    assert rest == b""
    assert served.reason(raw.sid) == "transport close"


def test_engineio_close_packet(served: Served, raw: RawWS) -> None:
    raw.text("1")
    assert raw.read_close() == 1000
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.eof()
    assert served.reason(raw.sid) == "client disconnect"


def test_server_disconnect_closes_with_a_handshake(served: Served, raw: RawWS) -> None:
    # the server sends "40" a moment before it counts the socket as connected (its drain
    # thread marks it after the reply): a disconnect in between would find nobody
    wait_until(lambda: served.sio.manager.is_connected(raw.sid, "/"), 10, "the connect")
    served.sio.disconnect(raw.sid)  # the namespace only (python-socketio)
    assert raw.read_text() == "41"
    assert served.reason(raw.sid) == "server disconnect"
    served.sio.eio.close(raw.eio_sid)  # the Engine.IO session, from this thread
    assert raw.read_text() == "1"
    assert raw.read_close() == 1000
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.eof()
    assert raw.eio_sid not in served.sio.eio._clients


def test_peer_that_never_answers_the_close_is_dropped(served: Served, raw: RawWS) -> None:
    served.sio.eio.close(raw.eio_sid)
    assert raw.read_close() == 1000
    assert raw.eof(timeout=15)  # CLOSE_TIMEOUT later, without our close frame
    assert served.reason(raw.sid) == "server disconnect"


def test_tcp_reset_without_close_frame(served: Served, bystander: Any) -> None:
    raw = RawWS(served.port)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    assert served.reason(raw.sid) == "transport close"


PROTOCOL_ERRORS = {
    "unmasked": (client_frame(1, b"42[]", masked=False), 1002),
    "reserved bits": (bytes([0xC1]) + client_frame(1, b"4")[1:], 1002),
    "unknown opcode": (client_frame(3, b"x"), 1002),
    "continuation first": (client_frame(0, b"x"), 1002),
    "long ping": (client_frame(9, b"p" * 126), 1002),
    "bad utf-8": (client_frame(1, b"4\xff\xfe"), 1007),
    "over the size limit": (client_frame(1, b"", length=10_000_000), 1009),
}


@pytest.mark.parametrize("case", list(PROTOCOL_ERRORS))
def test_protocol_errors_close_with_their_code(served: Served, raw: RawWS, bystander: Any,
                                               case: str) -> None:
    frame, code = PROTOCOL_ERRORS[case]
    raw.send(frame)
    assert raw.read_close() == code
    assert raw.eof()
    assert served.reason(raw.sid) == "transport error"


def test_protocol_error_warning_names_the_session(raw: RawWS,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sio_integrations.engine")
    raw.send(client_frame(1, b"42[]", masked=False))
    assert raw.read_close() == 1002
    lines = [r.getMessage() for r in caplog.records if "protocol error" in r.getMessage()]
    assert len(lines) == 1 and raw.eio_sid in lines[0], lines


def test_message_over_max_http_buffer_size(served: Served, raw: RawWS) -> None:
    raw.text("4" + "x" * 100_001)  # above the engine's limit, below the frame limit
    assert raw.read_close() == 1000
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.eof()
    assert served.reason(raw.sid) == "transport error"


def test_messages_before_the_close_frame_are_handled(served: Served, raw: RawWS) -> None:
    """The events come in the same read as the close frame: their handlers run on a worker
    thread, and the reader waits for them before it answers the close (their acks first)."""
    raw.send(client_frame(1, b'429["echo","last"]') + client_frame(8, struct.pack(">H", 1000)))
    assert raw.read_text() == '439["last"]'
    assert raw.read_close() == 1000
    assert raw.eof()


def test_close_frame_is_answered_after_the_handlers_of_earlier_events(
        served: Served, raw: RawWS) -> None:
    """Forced interleaving: the handler is held until the reader, past the close frame,
    waits for it; its ack still comes before our close frame."""
    pool = served.sio.eio.backend._pool
    served.gate.clear()
    try:
        raw.send(client_frame(1, b'421["gated_echo","held"]')
                 + client_frame(8, struct.pack(">H", 1000)))
        wait_until(lambda: getattr(pool, "_waiters", 0) > 0, 10,
                   "the reader to wait for the handler")
    finally:
        served.gate.set()
    assert raw.read_text() == '431["held"]'
    assert raw.read_close() == 1000
    assert raw.eof()
    assert served.reason(raw.sid) == "transport close"


def test_close_frame_waits_for_earlier_handlers_only_so_long(
        served: Served, raw: RawWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that does not finish (it may wait for the peer) delays the close answer
    by CLOSE_TIMEOUT at most."""
    from sio_integrations.runtime import wsgi_direct

    monkeypatch.setattr(wsgi_direct, "CLOSE_TIMEOUT", 0.2)
    served.gate.clear()
    try:
        raw.send(client_frame(1, b'421["gated_echo","held"]')
                 + client_frame(8, struct.pack(">H", 1000)))
        assert raw.read_close(timeout=10) == 1000
        assert not served.gate.is_set()  # answered while the handler was still held
        assert raw.eof()
    finally:
        served.gate.set()
    assert served.reason(raw.sid) == "transport close"


# -- 4. many writers, slow readers ---------------------------------------------------------

def _burst(served: Served, binary: bool) -> None:
    """Threads emit to one client at once. Read raw, so the order checked is the wire's
    (python-socketio's client runs each message's handler on a thread of its own): every
    thread's messages in order and intact, each binary packet followed by its attachment."""
    threads, count = 8, 40
    receiver = RawWS(served.port)
    sender = py_client(served, ["websocket"])
    result: list[Any] = []
    caller = threading.Thread(target=lambda: result.append(sender.call(
        "burst", (receiver.sid, threads, count, binary), timeout=60)))
    try:
        caller.start()
        got: dict[int, list[int]] = {t: [] for t in range(threads)}
        attachments = 0
        receiver.sock.settimeout(30)
        while (sum(map(len, got.values())) < threads * count
               or (binary and attachments < threads * (count // 5))):
            opcode, payload = receiver.read_frame()
            assert opcode == 1, (opcode, payload[:80])
            text = payload.decode()
            if text == "2":
                receiver.text("3")
                continue
            if text.startswith("42"):
                event, (t, i, body) = json.loads(text[2:])
                assert event == "burst" and body == chr(65 + t % 26) * len(body), text[:80]
                got[t].append(i)
                continue
            assert text.startswith("451-"), text[:80]
            event, data = json.loads(text[4:])
            assert event == "bin" and data["b"] == {"_placeholder": True, "num": 0}, text
            opcode, attachment = receiver.read_frame()
            assert opcode == 2 and attachment == bytes([data["t"] % 256]) * len(attachment)
            attachments += 1
        caller.join(60)
        assert result == [threads * count]
        for t in range(threads):
            assert got[t] == list(range(count)), t  # each thread's messages in order
        receiver.text('421["echo","intact"]')
        assert receiver.read_text() == '431["intact"]'
    finally:
        sender.disconnect()
        receiver.close()


def test_many_threads_emitting_to_one_client_keep_frames_intact(served: Served) -> None:
    _burst(served, binary=False)


def test_many_threads_emitting_binary_packets_to_one_client(served: Served) -> None:
    _burst(served, binary=True)


def test_write_many_is_not_interleaved() -> None:
    """Frames given to write_many reach the peer together while other threads write."""
    from sio_integrations.runtime.wsgi_direct import SyncDirectWebSocket

    left, right = socket.socketpair()
    try:
        ws = SyncDirectWebSocket(left, 1 << 20)
        write = ws.direct_writer(1 << 24)
        stop = threading.Event()

        def noise() -> None:
            while not stop.is_set():
                write("n")

        workers = [threading.Thread(target=noise) for _ in range(3)]
        for worker in workers:
            worker.start()
        for _ in range(200):
            assert ws.write_many(["h", b"a1", b"a2"])
        stop.set()
        for worker in workers:
            worker.join(10)
        ws.close_now()
        right.settimeout(10)
        data = b""
        while not data.endswith(b"\x88\x02\x03\xe8"):  # our close frame comes last
            data += right.recv(65536)
        frames = []
        pos = 0
        while pos < len(data):
            length = data[pos + 1]
            frames.append(data[pos + 2:pos + 2 + length])
            pos += 2 + length
        groups = [i for i, f in enumerate(frames) if f == b"h"]
        assert len(groups) == 200
        for i in groups:
            assert frames[i + 1:i + 3] == [b"a1", b"a2"]
    finally:
        left.close()
        right.close()


def _flood(count: int, size: int, caplog: pytest.LogCaptureFixture, *,
           slow_peer: bool) -> None:
    """B (python-socketio) reads, A (with ``slow_peer``) never does (tiny receive window);
    a handler broadcasts ``count`` x ``size``. The handler finishes although A takes
    nothing, B gets everything, A is dropped once over max_send_buffer_size (1 MB) with
    one WARNING, and its request thread ends."""
    caplog.set_level(logging.WARNING)
    with serve({"max_send_buffer_size": 1_000_000}) as running:
        before = request_threads()
        slow = RawWS(running.port, rcvbuf=4096) if slow_peer else None
        assert slow is None or running.is_direct(slow.sid)
        got: list[int] = []
        done = threading.Event()
        b = reference.Client(reconnection=False)

        def on_data(data: list[Any]) -> None:
            # python-socketio's client runs each handler on a thread of its own: the
            # order seen here is not the wire's (_burst checks that one, read raw)
            got.append(data[0])
            if len(got) == count:
                done.set()

        b.on("data", on_data)
        b.connect(running.url, transports=["websocket"], wait_timeout=10)
        try:
            assert running.is_direct(b.get_sid())
            # the bound is against a sender stuck for good, not a speed requirement
            b.call("flood", (count, size), timeout=90)
            assert done.wait(60), f"B got {len(got)} of {count}"
            assert sorted(got) == list(range(count))
            assert not any(s == b.get_sid() for s, _ in running.disconnects)
            warnings = [r.getMessage() for r in caplog.records
                        if "max_send_buffer_size" in r.getMessage()]
            if slow is None:
                assert warnings == []
            else:
                assert running.reason(slow.sid) == "transport error"
                assert len(warnings) == 1 and slow.eio_sid in warnings[0], warnings
            assert b.call("echo", "B is fine", timeout=10) == "B is fine"
            if slow is not None:
                # the slow peer's connection is released although it never reads
                wait_until(lambda: request_threads() <= before + 1, 20,
                           "the slow consumer's request thread to end")
        finally:
            b.disconnect()
            if slow is not None:
                slow.close()


def test_slow_consumer_is_disconnected_without_blocking_others(
        caplog: pytest.LogCaptureFixture) -> None:
    _flood(300, 20_000, caplog, slow_peer=True)  # 6 MB


def test_burst_larger_than_the_limit_keeps_a_reading_client(
        caplog: pytest.LogCaptureFixture) -> None:
    _flood(200, 65536, caplog, slow_peer=False)  # 13 MB, far more than socket buffers


def test_idle_direct_connection_keeps_its_heartbeat() -> None:
    with serve({"ping_interval": 0.3, "ping_timeout": 1}) as running:
        client = py_client(running, ["websocket"])
        try:
            sid = client.get_sid()
            assert running.is_direct(sid)
            session = running.record(sid).session
            pongs: set[float] = set()

            def answered() -> bool:  # every pong moves the next ping
                pongs.add(session.next_ping_at)
                return len(pongs) >= 5

            wait_until(answered, 20, "four ping/pong cycles")
            assert client.call("echo", "alive", timeout=10) == "alive"
            assert not running.disconnects
        finally:
            client.disconnect()


def test_silent_peer_times_out() -> None:
    with serve({"ping_interval": 0.3, "ping_timeout": 0.5}) as running:
        raw = RawWS(running.port)
        try:
            # never answers the pings: "ping timeout", a close frame, then the socket ends
            assert running.reason(raw.sid, timeout=15) == "ping timeout"
            assert raw.read_close(timeout=10) == 1000
            assert raw.eof(timeout=15)
        finally:
            raw.close()
