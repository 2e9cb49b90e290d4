"""The direct websocket path on uvicorn (runtime/asgi_direct.py) against real clients.

Every test runs a real uvicorn server on 127.0.0.1 (tests/runtime/direct_ws_support.py) and
checks on the server whether the connection was taken over (``direct`` on the engine's
record of the client) as well as what the peers see.
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
from .direct_ws_support import NodeClient, RawWS, Served, client_frame, serve, stop
from .live import wait_until

TRANSPORTS = {"websocket": ["websocket"], "upgrade": ["polling", "websocket"]}


@pytest.fixture(autouse=True)
def fresh_warning_limit() -> Iterator[None]:
    warning_limiter.configure()
    yield
    warning_limiter.configure()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One server with uvicorn's default settings, shared by the module's tests."""
    with serve({"max_http_buffer_size": 100_000}) as running:
        yield running


def py_client(served: Served, transports: list[str], **kwargs: Any) -> Any:
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


def wait_for_websocket(served: Served, sid: str) -> None:
    wait_until(lambda: served.record(sid).session.transport == "websocket", 10,
               "the upgrade to websocket")


def assert_echo(client: Any, value: Any = "still here") -> None:
    assert client.call("echo", value, timeout=10) == value


class Bystander:
    """A well-behaved python-socketio client connected during a test; must keep working."""

    def __init__(self, served: Served) -> None:
        self.client = py_client(served, ["websocket"])
        self.sid = self.client.get_sid()
        assert served.is_direct(self.sid)

    def check(self) -> None:
        for value in ("a", {"k": [1, 2]}, "é" * 3000):
            assert_echo(self.client, value)

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def bystander(served: Served) -> Iterator[Bystander]:
    by = Bystander(served)
    yield by
    by.check()
    by.close()


# -- 2. the takeover happens --------------------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_python_client_is_taken_over(served: Served, transport: str) -> None:
    a = py_client(served, TRANSPORTS[transport])
    b = py_client(served, TRANSPORTS[transport])
    try:
        for client in (a, b):
            wait_for_websocket(served, client.get_sid())
            wait_until(lambda c=client: served.is_direct(c.get_sid()), 10, "the takeover")
            assert client.transport() == "websocket"
        for value in ("héllo ✓", {"n": 1, "big": "y" * 70000}, [1, None, True], b"\x00\xff" * 50):
            assert_echo(a, value)
        assert list(a.call("echo", ("x", 2), timeout=10)) == ["x", 2]
        assert a.call("bcast", "hi", timeout=10) == "sent"
        wait_until(lambda: a.news and b.news, 10, "the broadcast")
        assert a.news == ["hi"] and b.news == ["hi"]
    finally:
        a.disconnect()
        b.disconnect()


def _node_result(served: Served, transport: str, deflate: Any) -> tuple[dict[str, Any], bool]:
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
    assert result["echoes"][0] == "héllo"
    assert result["echoes"][1] == {"n": 1, "big": "y" * 5000}
    assert result["echoes"][2] == [1, 2, 3]
    assert result["news"] == ["from-js"]
    result["websocket"] = kind
    return result, direct


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_js_client_without_compression_is_taken_over(served: Served, transport: str) -> None:
    result, direct = _node_result(served, transport, False)
    assert result["extensions"] == ""
    assert direct and result["websocket"] == "DirectWebSocket"


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_js_client_with_its_default_options(served: Served, transport: str) -> None:
    """socket.io-client in node offers permessage-deflate by default (as browsers do), and
    uvicorn accepts it by default: such a connection is taken over too (we inflate and
    deflate), and works."""
    result, direct = _node_result(served, transport, None)
    assert "permessage-deflate" in result["extensions"]
    assert direct and result["websocket"] == "DeflateWebSocket"


# -- 3. fallbacks -------------------------------------------------------------------------

def _eio_text(ws: Any) -> str:
    while True:
        message = ws.recv(timeout=10)
        if message == "2":
            ws.send("3")
            continue
        return str(message)


def test_permessage_deflate_client_is_taken_over(served: Served, bystander: Bystander) -> None:
    url = served.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    with websockets.sync.client.connect(url, compression="deflate") as ws:
        assert "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions")
                                        or "")
        assert _eio_text(ws).startswith("0{")
        ws.send("40")
        sid = json.loads(_eio_text(ws)[2:])["sid"]
        assert served.is_direct(sid)
        big = "z" * 50000  # compressed on the wire both ways
        ws.send(f'421["echo","{big}"]')
        assert _eio_text(ws) == f'431["{big}"]'
        ws.send('422["bcast","deflated"]')
        replies = {_eio_text(ws), _eio_text(ws)}
        assert replies == {'432["sent"]', '42["news","deflated"]'}
    wait_until(lambda: any(s == sid for s, _ in served.disconnects), 10, "the disconnect")
    bystander.client.news.clear()


@pytest.mark.parametrize("ws_impl", ["wsproto", "websockets"])
@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_other_uvicorn_websocket_implementations(ws_impl: str, transport: str) -> None:
    if ws_impl == "wsproto":
        pytest.importorskip("wsproto")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # uvicorn's legacy websockets
        with serve(ws=ws_impl) as running:
            a = py_client(running, TRANSPORTS[transport])
            b = py_client(running, TRANSPORTS[transport])
            try:
                for client in (a, b):
                    wait_for_websocket(running, client.get_sid())
                    assert not running.is_direct(client.get_sid())
                for value in ("héllo", {"big": "q" * 70000}, b"\x01\x02"):
                    assert_echo(a, value)
                assert a.call("bcast", 7, timeout=10) == "sent"
                wait_until(lambda: a.news and b.news, 10, "the broadcast")
            finally:
                a.disconnect()
                b.disconnect()
            running.wait_disconnect(1)


def test_the_direct_path_can_be_switched_off() -> None:
    with serve() as running:
        running.sio.eio.driver.direct_websockets = False
        a = py_client(running, ["websocket"])
        try:
            assert not running.is_direct(a.get_sid())
            assert_echo(a, "plain asgi")
        finally:
            a.disconnect()


# -- 4. raw protocol behaviour on the direct path ---------------------------------------------

@pytest.fixture
def raw(served: Served) -> Iterator[RawWS]:
    sock = RawWS(served.port)
    assert served.is_direct(sock.sid)
    yield sock
    sock.close()


def _count_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("sio_integrations") and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("case, code", [
    ("unmasked", 1002),
    ("reserved-bits", 1002),
    ("unknown-opcode", 1002),
    ("long-ping", 1002),
    ("orphan-continuation", 1002),
    ("invalid-utf8", 1007),
])
def test_protocol_errors_close_with_their_code(served: Served, raw: RawWS, bystander: Bystander,
                                               caplog: pytest.LogCaptureFixture,
                                               case: str, code: int) -> None:
    caplog.set_level(logging.WARNING)
    count = len(served.disconnects)
    data = {
        "unmasked": client_frame(1, b'42["echo",1]', masked=False),
        "reserved-bits": bytes([0xC1]) + client_frame(1, b"x")[1:],
        "unknown-opcode": client_frame(5, b"x"),
        "long-ping": client_frame(9, b"p" * 126),
        "orphan-continuation": client_frame(0, b"x"),
        "invalid-utf8": client_frame(1, b"42\xff\xfe"),
    }[case]
    raw.send(data)
    assert raw.read_close() == code
    assert raw.eof(), "the server keeps the TCP connection open"
    sid, reason = served.wait_disconnect(count)
    assert (sid, reason) == (raw.sid, "transport error")
    lines = _count_warnings(caplog)
    assert len(lines) == 1 and "protocol error" in lines[0], lines
    bystander.check()


def test_protocol_error_warning_names_the_session(served: Served, raw: RawWS,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The hardening promise: one WARNING line naming the Engine.IO session."""
    caplog.set_level(logging.WARNING)
    count = len(served.disconnects)
    raw.send(client_frame(1, b"x", masked=False))
    assert raw.read_close() == 1002
    served.wait_disconnect(count)
    lines = _count_warnings(caplog)
    assert len(lines) == 1 and raw.eio_sid in lines[0], lines


def test_message_over_the_limit_is_refused_from_its_header(served: Served, raw: RawWS,
                                                           bystander: Bystander) -> None:
    count = len(served.disconnects)
    # a header announcing 1 GB, and nothing else: the answer comes at once
    raw.send(client_frame(1, b"", length=1 << 30)[:-4] + b"\x00\x00\x00\x00")
    assert raw.read_close(timeout=5) == 1009
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport error")


def test_fragmented_message_over_the_limit(served: Served, raw: RawWS,
                                           bystander: Bystander) -> None:
    count = len(served.disconnects)
    raw.send(client_frame(1, b"42" + b"a" * 60000, fin=False))
    raw.send(client_frame(0, b"a" * 39000, fin=False))  # 99,002 so far: still fine
    raw.send(client_frame(0, b"", fin=False, length=1000)[:6])  # only the header
    assert raw.read_close(timeout=5) == 1009
    assert served.wait_disconnect(count) == (raw.sid, "transport error")


def test_websocket_ping_gets_a_pong_with_its_payload(raw: RawWS, bystander: Bystander) -> None:
    for payload in (b"", b"abc", bytes(range(125))):
        raw.send(client_frame(9, payload))
        assert raw.read_frame() == (0xA, payload)
    raw.text('421["echo","after ping"]')
    assert raw.read_text() == '431["after ping"]'


def test_fragmented_messages_are_reassembled(served: Served, bystander: Bystander) -> None:
    sock = RawWS(served.port, join=False)
    try:
        sock.send(client_frame(1, b"4", fin=False) + client_frame(0, b"0"))
        reply = sock.read_text()
        assert reply.startswith("40{"), reply
        sid = json.loads(reply[2:])["sid"]
        assert served.is_direct(sid)
        message = '421["echo","héllo in pieces"]'.encode()
        sock.send(client_frame(1, message[:5], fin=False))
        sock.send(client_frame(9, b"mid") + client_frame(0, message[5:12], fin=False))
        assert sock.read_frame() == (0xA, b"mid")
        sock.send(client_frame(0, message[12:]))
        assert sock.read_text() == '431["héllo in pieces"]'
    finally:
        sock.close()


def test_client_close_frame(served: Served, raw: RawWS, bystander: Bystander) -> None:
    count = len(served.disconnects)
    raw.send(client_frame(8, struct.pack(">H", 1001) + b"going away"))
    assert raw.read_close() == 1001  # the server echoes the code
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport close")


def test_client_close_frame_without_code(served: Served, raw: RawWS) -> None:
    count = len(served.disconnects)
    raw.send(client_frame(8, b""))
    assert raw.read_close() == 1000
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport close")


def test_tcp_reset_without_close_frame(served: Served, raw: RawWS,
                                       bystander: Bystander) -> None:
    count = len(served.disconnects)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    raw.sock.close()  # RST
    assert served.wait_disconnect(count) == (raw.sid, "transport close")


def test_engineio_close_packet(served: Served, raw: RawWS) -> None:
    count = len(served.disconnects)
    raw.text("1")
    assert served.wait_disconnect(count) == (raw.sid, "client disconnect")
    assert raw.eof()


def test_server_disconnects(served: Served, raw: RawWS, bystander: Bystander) -> None:
    count = len(served.disconnects)
    served.run(served.sio.disconnect(raw.sid))  # the namespace only (python-socketio)
    assert raw.read_text() == "41"
    assert served.wait_disconnect(count) == (raw.sid, "server disconnect")
    served.run(served.sio.eio.close(raw.eio_sid))  # the Engine.IO session
    assert raw.read_text() == "1"
    assert raw.read_close() == 1000
    raw.send(client_frame(8, struct.pack(">H", 1000)))
    assert raw.eof()
    with pytest.raises(KeyError):
        served.sio.eio._clients[raw.eio_sid]


@pytest.mark.parametrize("numbers", [[1, 4, 2], [0, 1, 3, 2]])  # 0 and 3 wait in the handler
def test_messages_in_the_same_read_as_the_close_frame_are_handled(
        served: Served, bystander: Bystander, numbers: list[int]) -> None:
    """Messages that arrive in one read with the close frame are all handled, in order,
    before the connection ends (uvicorn's own path does the same)."""
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


def test_messages_before_the_close_frame_in_another_read_are_handled(
        served: Served, bystander: Bystander) -> None:
    sock = RawWS(served.port)
    try:
        count = len(served.disconnects)
        sock.send(client_frame(1, b'425["seq",1]') + client_frame(1, b'426["seq",3]'))
        assert sock.read_text() == "435[1]"
        assert sock.read_text() == "436[3]"
        sock.send(client_frame(1, b"41"))
        assert served.wait_disconnect(count) == (sock.sid, "client disconnect")
        sock.send(client_frame(8, struct.pack(">H", 1000)))
        assert sock.read_close() == 1000
        assert sock.eof()
        assert served.received.get(sock.sid) == [1, 3]
    finally:
        sock.close()


def test_binary_attachments_both_ways(served: Served, raw: RawWS) -> None:
    blob = bytes(range(256)) * 300  # 76,800 bytes: the 16-bit length form... and more
    raw.text('451-42["echo",{"_placeholder":true,"num":0}]')
    raw.send(client_frame(2, blob))
    assert raw.read_text() == '461-42[{"_placeholder":true,"num":0}]'
    assert raw.read_frame() == (2, blob)
    raw.text('42["bcast","after binary"]')
    assert raw.read_text() == '42["news","after binary"]'


def test_upgrade_with_messages_in_the_same_read_as_the_upgrade_packet(
        served: Served, bystander: Bystander) -> None:
    """Messages that arrive with "5" (while the engine still reads the probe socket
    message by message) are handled in order once it becomes the session's transport,
    after what was queued for polling."""
    base = f"{served.url}/socket.io/?EIO=4&transport=polling"
    opening = requests.get(base, timeout=10).text
    eio_sid = json.loads(opening[1:])["sid"]
    url = f"{base}&sid={eio_sid}"
    assert requests.post(url, data="40", timeout=10).text == "ok"
    joined = requests.get(url, timeout=10).text
    assert joined.startswith("40{"), joined
    sid = json.loads(joined[2:])["sid"]
    sock = RawWS(served.port, upgrade_sid=eio_sid)
    try:
        sock.text("2probe")
        assert sock.read_text() == "3probe"
        served.run(served.sio.emit("news", "queued for polling", to=sid))
        sock.send(b"".join(client_frame(1, m.encode()) for m in (
            "5", '421["seq",0]', '422["seq",1]', '423["echo","z"]')))
        replies = [sock.read_text() for _ in range(4)]
        assert replies == ['42["news","queued for polling"]', "431[0]", "432[1]", '433["z"]']
        assert served.record(sid).session.transport == "websocket"
        assert served.is_direct(sid)
        assert served.received[sid] == [0, 1]
    finally:
        sock.close()


def test_upgrade_then_close_in_the_same_read(served: Served, bystander: Bystander) -> None:
    """A client that upgrades, emits, disconnects and closes the websocket at once (all in
    one read, while the engine still reads the probe socket message by message): the
    messages before the close frame are handled before it is answered."""
    base = f"{served.url}/socket.io/?EIO=4&transport=polling"
    opening = requests.get(base, timeout=10).text
    eio_sid = json.loads(opening[1:])["sid"]
    url = f"{base}&sid={eio_sid}"
    assert requests.post(url, data="40", timeout=10).text == "ok"
    sid = json.loads(requests.get(url, timeout=10).text[2:])["sid"]
    count = len(served.disconnects)
    sock = RawWS(served.port, upgrade_sid=eio_sid)
    try:
        sock.text("2probe")
        assert sock.read_text() == "3probe"
        sock.send(b"".join(client_frame(1, m.encode()) for m in (
            "5", '42["seq",4]', '42["seq",5]', "41")) + client_frame(8, b"\x03\xe8"))
        assert sock.read_close() == 1000
        assert served.wait_disconnect(count) == (sid, "client disconnect")
        assert served.received[sid] == [4, 5]
    finally:
        sock.close()


async def _task_count() -> int:
    return len(asyncio.all_tasks())


@pytest.mark.parametrize("ending", ["close-frame", "reset", "eio-close", "protocol-error"])
def test_many_connections_leave_nothing_behind(served: Served, bystander: Bystander,
                                               ending: str) -> None:
    def settled() -> tuple[int, int, int]:
        return served.connections(), len(served.sio.eio._clients), served.run(_task_count())

    before = settled()
    for i in range(40):
        sock = RawWS(served.port)
        sock.text(f'42{i}["echo",{i}]')
        assert sock.read_text() == f"43{i}[{i}]"
        if ending == "close-frame":
            sock.send(client_frame(8, struct.pack(">H", 1000)))
            assert sock.read_close() == 1000
        elif ending == "reset":
            sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif ending == "eio-close":
            sock.text("1")
        else:
            sock.send(client_frame(1, b"x", masked=False))
            assert sock.read_close() == 1002
        sock.close()
    wait_until(lambda: settled() == before, 10, f"the server to settle back to {before}")


# -- 5. slow consumer ------------------------------------------------------------------------

def _flood(count: int, size: int, pause: bool, caplog: pytest.LogCaptureFixture) -> None:
    """Client A never reads (tiny receive window), B reads; a handler broadcasts ``count``
    x ``size``. B gets everything, the handler is never held up by A, A is dropped once
    past max_send_buffer_size (1 MB) with one WARNING line."""
    caplog.set_level(logging.WARNING)
    with serve({"max_send_buffer_size": 1_000_000}) as running:
        slow = RawWS(running.port, rcvbuf=4096)
        assert running.is_direct(slow.sid)
        got: list[int] = []
        done = threading.Event()
        b = reference.Client(reconnection=False)

        def on_data(data: list[Any]) -> None:
            got.append(data[0])
            if len(got) == count:
                done.set()

        b.on("data", on_data)
        b.connect(running.url, transports=["websocket"], wait_timeout=10)
        try:
            assert running.is_direct(b.get_sid())
            elapsed = b.call("flood", (count, size, pause), timeout=30)
            assert elapsed < 5, f"the broadcast loop took {elapsed:.1f} s"
            assert done.wait(30), f"B got {len(got)} of {count}"
            # python-socketio's client runs each handler on a thread of its own: the
            # order it sees is not the wire's (the server's order is checked elsewhere)
            assert sorted(got) == list(range(count))
            wait_until(lambda: any(s == slow.sid for s, _ in running.disconnects), 10,
                       "the slow consumer's disconnect")
            assert running.disconnects == [(slow.sid, "transport error")]
            lines = _count_warnings(caplog)
            assert len(lines) == 1, lines
            assert "max_send_buffer_size" in lines[0] and slow.eio_sid in lines[0]
            assert_echo(b, "B is fine")
        finally:
            b.disconnect()
            slow.close()


@pytest.mark.parametrize("pause", [False, True])
def test_slow_consumer_never_blocks_the_sender(caplog: pytest.LogCaptureFixture,
                                               pause: bool) -> None:
    """600 x 8 KiB (4.9 MB): more than the limit for A, while B takes it as it comes."""
    _flood(600, 8192, pause, caplog)


@pytest.mark.parametrize("pause", [False, True])
def test_burst_larger_than_the_limit_keeps_a_reading_client(
        caplog: pytest.LogCaptureFixture, pause: bool) -> None:
    """200 x 64 KiB (13 MB, more than the kernel's socket buffers absorb, produced faster
    than any client reads): B, which reads as fast as it can, must not be taken for a
    slow consumer (judged on its progress, not on the instantaneous backlog)."""
    _flood(200, 65536, pause, caplog)


def test_slow_consumer_connection_is_released() -> None:
    """After the overflow the server must not keep the peer's TCP connection (and its
    megabyte of unsent frames) for as long as the peer chooses not to read: uvicorn
    counts it as open, and its graceful shutdown waits for it."""
    with serve({"max_send_buffer_size": 1_000_000}) as running:
        slow = RawWS(running.port, rcvbuf=4096)
        b = reference.Client(reconnection=False)
        b.connect(running.url, transports=["websocket"], wait_timeout=10)
        try:
            b.call("flood", (600, 8192, True), timeout=30)
            wait_until(lambda: any(s == slow.sid for s, _ in running.disconnects), 10,
                       "the slow consumer's disconnect")
            b.disconnect()
            wait_until(lambda: running.connections() == 0, 10,
                       "uvicorn to forget the slow consumer's connection")
            stop(running, timeout=10)
        finally:
            if b.connected:
                b.disconnect()
            slow.close()


def test_slow_but_reading_consumer_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    """A peer that reads steadily, if slower than the server writes, is not a slow
    consumer; one that trickles far below the limit's pace is (one WARNING line)."""
    caplog.set_level(logging.WARNING)
    with serve({"max_send_buffer_size": 1_000_000}) as running:
        steady = RawWS(running.port, rcvbuf=65536)
        trickle = RawWS(running.port, rcvbuf=4096)
        total = {"steady": 0}
        stop_reading = threading.Event()

        def read_steadily() -> None:  # at most 2.5 MB/s; far above what the policy asks
            steady.sock.settimeout(10)
            while not stop_reading.is_set():
                started = time.monotonic()
                got = 0
                while got < 262144:
                    try:
                        chunk = steady.sock.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    got += len(chunk)
                    total["steady"] += len(chunk)
                time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))

        def trickle_read() -> None:  # 2 KB/s
            trickle.sock.settimeout(10)
            while not stop_reading.is_set():
                try:
                    if not trickle.sock.recv(1024):
                        return
                except OSError:
                    return
                time.sleep(0.5)

        threads = [threading.Thread(target=f, daemon=True)
                   for f in (read_steadily, trickle_read)]
        for t in threads:
            t.start()
        b = py_client(running, ["websocket"])
        try:
            elapsed = b.call("flood", (1200, 8192, True), timeout=30)  # 9.8 MB each
            assert elapsed < 5
            wait_until(lambda: total["steady"] > 1200 * 8192, 40, "the steady reader's data")
            wait_until(lambda: trickle.sid in dict(running.disconnects), 15,
                       "the trickling reader's disconnect")
            assert running.disconnects == [(trickle.sid, "transport error")]
            lines = _count_warnings(caplog)
            assert len(lines) == 1 and trickle.eio_sid in lines[0], lines
        finally:
            stop_reading.set()
            b.disconnect()
            steady.close()
            trickle.close()
            for t in threads:
                t.join(15)


# -- 6. handlers that wait keep the order --------------------------------------------------

def _numbered(served: Served, client: Any, count: int) -> list[int]:
    acks: list[int] = []
    done = threading.Event()

    def ack(n: int) -> None:
        acks.append(n)
        if len(acks) == count:
            done.set()

    for n in range(count):
        client.emit("seq", n, callback=ack)
    assert done.wait(60), f"{len(acks)} of {count} acks"
    return acks


def test_waiting_handlers_keep_the_order(served: Served) -> None:
    a = py_client(served, ["websocket"])
    b = py_client(served, ["websocket"])
    try:
        assert served.is_direct(a.get_sid()) and served.is_direct(b.get_sid())
        results: dict[str, list[int]] = {}
        threads = [threading.Thread(target=lambda c=c: results.__setitem__(
            c.get_sid(), _numbered(served, c, 500))) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        for client in (a, b):
            sid = client.get_sid()
            assert sorted(results[sid]) == list(range(500))  # acks: one thread each
            assert served.received[sid] == list(range(500))
    finally:
        a.disconnect()
        b.disconnect()


def test_burst_in_one_tcp_write_while_a_handler_waits(served: Served) -> None:
    """500 events in a single write: the reader pauses while a handler waits, and none is
    lost or reordered."""
    sock = RawWS(served.port)
    try:
        sock.send(b"".join(client_frame(1, f'42{n}["seq",{n}]'.encode())
                           for n in range(500)))
        acks = []
        while len(acks) < 500:
            text = sock.read_text()
            assert text.startswith("43"), text
            acks.append(int(text[2:].split("[", 1)[0]))
        assert acks == list(range(500))
        assert served.received[sock.sid] == list(range(500))
    finally:
        sock.close()


# -- 7. shutdown -----------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_uvicorn_graceful_shutdown_with_taken_over_connections(transport: str) -> None:
    with serve() as running:
        clients = [py_client(running, TRANSPORTS[transport]) for _ in range(3)]
        gone = [threading.Event() for _ in clients]
        for client, event in zip(clients, gone, strict=True):
            client.on("disconnect", lambda *a, e=event: e.set())
            wait_for_websocket(running, client.get_sid())
            wait_until(lambda c=client: running.is_direct(c.get_sid()), 10, "the takeover")
        sock = RawWS(running.port)
        try:
            took = stop(running, timeout=15)
            assert took < 10
            for event in gone:
                assert event.wait(10)
            assert sock.read_close() in (1000, 1001, 1012, None)
            assert sock.eof()
            wait_until(lambda: len(running.disconnects) == 4, 10, "4 disconnects")
        finally:
            sock.close()
            for client in clients:
                if client.connected:
                    client.disconnect()


def test_graceful_shutdown_with_a_peer_that_stopped_reading() -> None:
    """uvicorn's shutdown must not wait for unsent data behind a peer that stopped
    reading (a plain transport.close() would wait for the flush forever)."""
    with serve({"max_send_buffer_size": 50_000_000}) as running:
        slow = RawWS(running.port, rcvbuf=4096)
        b = py_client(running, ["websocket"])
        try:
            assert running.is_direct(slow.sid)
            b.call("flood", (300, 16384, True), timeout=30)  # 4.9 MB, A reads none of it
            assert stop(running, timeout=10) < 10
        finally:
            slow.close()  # lets the server finish either way
            if b.connected:
                b.disconnect()


# -- 8. TLS ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    need(openssl is not None, "openssl is not installed")
    assert openssl is not None
    folder = tmp_path_factory.mktemp("direct-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.mark.parametrize("transport", ["websocket", "upgrade"])
def test_tls_is_taken_over(tls_files: tuple[Path, Path], transport: str) -> None:
    cert, key = tls_files
    with serve(ssl_certfile=str(cert), ssl_keyfile=str(key)) as running:
        a = py_client(running, TRANSPORTS[transport])
        try:
            wait_for_websocket(running, a.get_sid())
            assert running.is_direct(a.get_sid())
            for value in ("wss ✓", {"big": "t" * 200_000}, b"\x00" * 1000):
                assert_echo(a, value)
            assert a.call("bcast", "tls", timeout=10) == "sent"
            wait_until(lambda: a.news == ["tls"], 10, "the broadcast")
        finally:
            a.disconnect()
        context = ssl.create_default_context(cafile=str(cert))
        sock = RawWS(running.port, tls=context)
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


# -- heartbeats, early data, limits ----------------------------------------------------------

def test_uvicorn_keepalive_is_stopped_after_the_takeover() -> None:
    """uvicorn's own websocket pings would be answered to our protocol, not to uvicorn's:
    left running, its pong deadline would kill a healthy connection."""
    with serve(ws_ping_interval=0.2, ws_ping_timeout=0.2) as running:
        sock = RawWS(running.port)
        try:
            assert running.is_direct(sock.sid)
            sock.sock.settimeout(1.5)
            with pytest.raises(TimeoutError):
                sock.read_frame()  # neither a ping nor a close from uvicorn
            sock.sock.settimeout(10)
            sock.text('427["echo","alive"]')
            assert sock.read_text() == '437["alive"]'
            assert running.disconnects == []
        finally:
            sock.close()


def test_engineio_heartbeat_on_the_direct_path() -> None:
    with serve({"ping_interval": 0.3, "ping_timeout": 0.5}) as running:
        answering = RawWS(running.port)  # read_text answers "2" with "3"
        silent = RawWS(running.port)
        echoes: list[str] = []
        errors: list[BaseException] = []

        def keep_answering() -> None:
            try:
                deadline = time.monotonic() + 2.5  # several heartbeats
                while time.monotonic() < deadline:
                    answering.text('428["echo","beat"]')
                    echoes.append(answering.read_text())
                    time.sleep(0.05)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        thread = threading.Thread(target=keep_answering, daemon=True)
        thread.start()
        try:
            assert running.is_direct(answering.sid) and running.is_direct(silent.sid)
            assert silent.read_frame() == (1, b"2")  # a ping, left unanswered
            assert silent.read_close(timeout=5) == 1000  # after "1" (close)
            assert silent.eof()
            wait_until(lambda: (silent.sid, "ping timeout") in running.disconnects, 10,
                       "the ping timeout")
            thread.join(15)
            assert not errors, errors
            assert len(echoes) >= 5 and set(echoes) == {'438["beat"]'}
            assert all(sid != answering.sid for sid, _ in running.disconnects)
        finally:
            answering.close()
            silent.close()


def test_message_size_limit_boundary(served: Served, bystander: Bystander) -> None:
    limit = 100_000  # max_http_buffer_size of the module's server
    head, tail = '421["echo","', '"]'
    body = "x" * (limit - len(head) - len(tail))
    sock = RawWS(served.port)
    try:
        sock.send(client_frame(1, (head + body + tail).encode()))  # exactly the limit
        assert sock.read_text() == f'431["{body}"]'
        count = len(served.disconnects)
        sock.send(client_frame(1, (head + body + "x" + tail).encode()))
        assert sock.read_close() == 1009
        assert served.wait_disconnect(count) == (sock.sid, "transport error")
    finally:
        sock.close()
