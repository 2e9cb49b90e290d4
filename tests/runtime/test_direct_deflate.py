"""The direct websocket path with permessage-deflate (runtime/direct_ws_deflate.py),
on uvicorn and aiohttp, against the ``websockets`` library's client (a compressing peer we
did not write), python-socketio's client, node's socket.io-client and frames built by hand.
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio as reference  # python-socketio: the test peer
import websockets.sync.client
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from sio_integrations.runtime.direct_ws import DirectWebSocket
from sio_integrations.runtime.direct_ws_deflate import DeflateWebSocket

from .direct_ws_support import NodeClient, RawWS, Served, client_frame, serve, serve_aiohttp
from .live import wait_until

HOSTS = ["uvicorn", "aiohttp"]
LIMIT = 100_000
OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"


def deflate(data: bytes) -> bytes:
    """A message compressed as a client puts it in a frame (context-free)."""
    zobj = zlib.compressobj(6, zlib.DEFLATED, -12)
    return (zobj.compress(data) + zobj.flush(zlib.Z_SYNC_FLUSH))[:-4]


def chat(n: int) -> list[dict[str, Any]]:
    return [{"user": f"u{i}", "text": f"message number {i} in the room"} for i in range(n)]


def running(host: str, options: dict[str, Any] | None = None) -> Any:
    options = {"max_http_buffer_size": LIMIT, **(options or {})}
    return serve(options) if host == "uvicorn" else serve_aiohttp(options)


@pytest.fixture(scope="module", params=HOSTS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with running(request.param) as server:
        yield server


class EioClient:
    """Socket.IO spoken by hand over the ``websockets`` client (compression="deflate"
    unless told otherwise)."""

    def __init__(self, served: Served, **kwargs: Any) -> None:
        kwargs.setdefault("compression", "deflate")
        url = served.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        self._connection = websockets.sync.client.connect(url, max_size=None, **kwargs)
        self.ws = self._connection.__enter__()
        self.extensions = self.ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert self.recv().startswith("0{")
        self.ws.send("40")
        reply = self.recv()
        assert reply.startswith("40{"), reply
        self.sid: str = json.loads(reply[2:])["sid"]
        self.ids = 0

    def recv(self) -> Any:
        while True:
            message = self.ws.recv(timeout=10)
            if message == "2":  # Engine.IO ping
                self.ws.send("3")
                continue
            return message

    def call(self, event: str, data: Any) -> Any:
        self.ids += 1
        self.ws.send(f"42{self.ids}" + json.dumps([event, data]))
        reply = self.recv()
        prefix = f"43{self.ids}"
        assert reply.startswith(prefix), reply[:80]
        return json.loads(reply[len(prefix):])[0]

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


@pytest.fixture
def bystanders(served: Served) -> Iterator[list[Any]]:
    """A compressing client and a plain python-socketio client; both must keep working."""
    deflating = EioClient(served)
    plain = reference.Client(reconnection=False)
    plain.connect(served.url, transports=["websocket"], wait_timeout=10)
    yield [deflating, plain]
    assert deflating.call("echo", chat(40)) == chat(40)
    assert plain.call("echo", chat(40), timeout=10) == chat(40)
    deflating.close()
    plain.disconnect()


def test_websockets_client_is_taken_over(served: Served) -> None:
    client = EioClient(served)
    try:
        assert "permessage-deflate" in client.extensions
        assert isinstance(served.websocket(client.sid), DeflateWebSocket)
        for value in ("small", "é" * 3000, chat(300), {"z": "z" * 60000}):
            assert client.call("echo", value) == value
    finally:
        client.close()
    wait_until(lambda: any(s == client.sid for s, _ in served.disconnects), 10,
               "the disconnect")


def test_binary_attachments_both_ways(served: Served) -> None:
    client = EioClient(served)
    try:
        for blob in (b"\x00\x01" * 3000, os.urandom(3000), b"\x02" * 10):
            client.ws.send('451-1["echo",{"_placeholder":true,"num":0}]')
            client.ws.send(blob)
            assert client.recv() == '461-1[{"_placeholder":true,"num":0}]'
            assert client.recv() == blob
    finally:
        client.close()


def test_only_large_messages_are_compressed(served: Served) -> None:
    """On the wire: small messages plain, large ones compressed (RSV1), both ways."""
    raw = RawWS(served.port, extra_headers=OFFER)
    try:
        assert raw.deflate
        assert isinstance(served.websocket(raw.sid), DeflateWebSocket)
        raw.text('421["echo","small"]')
        assert raw.read_text() == '431["small"]' and not raw.compressed
        big = json.dumps(chat(200))
        raw.send(client_frame(1, deflate(f'422["echo",{big}]'.encode()), rsv=4))
        reply = raw.read_text()
        assert reply.startswith("432") and json.loads(reply[3:]) == [chat(200)]
        assert raw.compressed
        raw.text(f'423["echo",{big}]')  # a client may send a large one uncompressed
        reply = raw.read_text()
        assert reply.startswith("433") and json.loads(reply[3:]) == [chat(200)]
        assert raw.compressed
    finally:
        raw.close()


def test_compressed_frames_with_the_handshake() -> None:
    """Frames in the same write as the handshake request (aiohttp keeps them for its
    parser): such a connection is left to aiohttp (engineio's wrapper, aiohttp's own
    negotiation and codec), and works. (uvicorn's httptools protocol drops bytes that
    follow the upgrade request in the same read, whatever the path: not tested there.)"""
    with serve_aiohttp({"max_http_buffer_size": LIMIT}) as server:
        _early_frames(server)


def _early_frames(served: Served) -> None:
    big = json.dumps(chat(100))
    early = (client_frame(1, deflate(b"40"), rsv=4)
             + client_frame(1, deflate(f'421["echo",{big}]'.encode()), rsv=4))
    raw = RawWS(served.port, extra_headers=OFFER, join=False, early=early)
    try:
        assert raw.deflate
        reply = raw.read_text()
        assert reply.startswith("40{"), reply
        assert not served.is_direct(json.loads(reply[2:])["sid"])
        reply = raw.read_text()
        assert reply.startswith("431") and json.loads(reply[3:]) == [chat(100)]
        raw.send(client_frame(1, deflate(f'422["echo",{big}]'.encode()), rsv=4))
        reply = raw.read_text()
        assert reply.startswith("432") and json.loads(reply[3:]) == [chat(100)]
    finally:
        raw.close()


def test_broadcast_to_deflate_and_plain_clients(served: Served) -> None:
    deflating = [EioClient(served), EioClient(served)]
    plain_ws = EioClient(served, compression=None)
    raw = RawWS(served.port, extra_headers=OFFER)
    raw_plain = RawWS(served.port)
    reference_client = reference.Client(reconnection=False)
    news: list[Any] = []
    reference_client.on("news", news.append)
    reference_client.connect(served.url, transports=["websocket"], wait_timeout=10)
    try:
        assert plain_ws.extensions == "" and type(served.websocket(plain_ws.sid)) is \
            DirectWebSocket
        big = chat(150)
        for payload in (big, "tiny", big):
            sender = deflating[0]
            sender.ids += 1
            sender.ws.send(f"42{sender.ids}" + json.dumps(["bcast", payload]))
            replies = sorted([sender.recv(), sender.recv()])  # "42..." before "43..."
            assert json.loads(replies[0][2:]) == ["news", payload]
            assert replies[1] == f'43{sender.ids}["sent"]'
            for client in deflating[1:] + [plain_ws]:
                assert json.loads(client.recv()[2:]) == ["news", payload]
            for sock in (raw, raw_plain):
                assert json.loads(sock.read_text()[2:]) == ["news", payload]
                assert sock.compressed == (sock is raw and payload is big)
        wait_until(lambda: len(news) == 3, 10, "the python client's broadcasts")
        assert news == [big, "tiny", big]
    finally:
        for client in deflating + [plain_ws]:
            client.close()
        raw.close()
        raw_plain.close()
        reference_client.disconnect()


def test_zip_bomb_is_refused(served: Served, bystanders: list[Any]) -> None:
    count = len(served.disconnects)
    client = EioClient(served)
    # about 5 KB on the wire, 5 MB inflated: refused once past max_http_buffer_size
    client.ws.send('42["echo","' + "x" * 5_000_000 + '"]')
    with pytest.raises(ConnectionClosed) as closed:
        client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert served.wait_disconnect(count) == (client.sid, "transport error")


def test_zip_bomb_in_fragments_is_refused(served: Served, bystanders: list[Any]) -> None:
    raw = RawWS(served.port, extra_headers=OFFER)
    count = len(served.disconnects)
    bomb = deflate(b"4" + b"0" * 10_000_000)
    raw.send(client_frame(1, bomb[:3000], fin=False, rsv=4))
    raw.send(client_frame(0, bomb[3000:]))
    assert raw.read_close() == 1009
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport error")


async def _task_count() -> int:
    import asyncio

    return len(asyncio.all_tasks())


@pytest.mark.parametrize("ending", ["close-frame", "reset", "zip-bomb", "bad-data"])
def test_deflate_connections_leave_nothing_behind(served: Served, bystanders: list[Any],
                                                  ending: str) -> None:
    def settled() -> tuple[int, int, int]:
        return served.connections(), len(served.sio.eio._clients), served.run(_task_count())

    before = settled()
    for i in range(20):
        sock = RawWS(served.port, extra_headers=OFFER)
        sock.send(client_frame(1, deflate(f'42{i}["echo","{"e" * 2000}"]'.encode()), rsv=4))
        assert sock.read_text() == f'43{i}["{"e" * 2000}"]' and sock.compressed
        if ending == "close-frame":
            sock.send(client_frame(8, b"\x03\xe8"))
            assert sock.read_close() == 1000
        elif ending == "reset":
            sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        elif ending == "zip-bomb":
            sock.send(client_frame(1, deflate(b"4" * (LIMIT * 10)), rsv=4))
            assert sock.read_close() == 1009
        else:
            sock.send(client_frame(1, b"\xff\xff\xff", rsv=4))
            assert sock.read_close() == 1007
        sock.close()
    wait_until(lambda: settled() == before, 10, f"the server to settle back to {before}")


@pytest.mark.parametrize("case, code", [
    ("rsv1-on-continuation", 1002),
    ("rsv1-on-ping", 1002),
    ("rsv2", 1002),
    ("rsv3", 1002),
    ("not-deflate", 1007),
    ("rsv1-without-deflate", 1002),
])
def test_reserved_bit_misuse(served: Served, bystanders: list[Any], case: str,
                             code: int) -> None:
    raw = RawWS(served.port, extra_headers="" if case == "rsv1-without-deflate" else OFFER)
    count = len(served.disconnects)
    data = {
        "rsv1-on-continuation": client_frame(1, b"42", fin=False)
        + client_frame(0, deflate(b'["x"]'), rsv=4),
        "rsv1-on-ping": client_frame(9, b"", rsv=4),
        "rsv2": client_frame(1, b"42[1]", rsv=2),
        "rsv3": client_frame(1, b"42[1]", rsv=1),
        "not-deflate": client_frame(1, b"\x07\x07\x07\x07", rsv=4),
        "rsv1-without-deflate": client_frame(1, deflate(b'42["x"]'), rsv=4),
    }[case]
    raw.send(data)
    assert raw.read_close() == code
    assert raw.eof()
    assert served.wait_disconnect(count) == (raw.sid, "transport error")


def test_negotiated_windows_are_honoured(served: Served) -> None:
    """A client asking for a 1 KiB server window (and a 512 B window of its own)."""
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=10,
                                             client_max_window_bits=9,
                                             client_no_context_takeover=True)
    client = EioClient(served, compression=None, extensions=[factory])
    try:
        assert "server_max_window_bits=10" in client.extensions
        assert isinstance(served.websocket(client.sid), DeflateWebSocket)
        block = os.urandom(800).hex()
        for value in (block * 3, [block * 2, chat(50)], "small"):
            assert client.call("echo", value) == value
    finally:
        client.close()


def test_server_window_bounds_the_back_references(served: Served) -> None:
    """zlib inflates any distance it still has in its output, so a client would not notice
    a wider window than negotiated: the size shows it. Repeats 1,600 bytes apart cannot be
    referenced in a 1 KiB window, they can in 4 KiB."""
    block = os.urandom(800).hex()
    sizes = []
    for window in (10, 12):  # uvicorn caps it at 12
        raw = RawWS(served.port, extra_headers="Sec-WebSocket-Extensions: permessage-deflate;"
                    f" server_max_window_bits={window}\r\n")
        try:
            assert f"server_max_window_bits={window}" in raw.response_head
            raw.text(f'421["echo","{block * 3}"]')
            assert raw.read_text() == f'431["{block * 3}"]' and raw.compressed
            sizes.append(raw.wire_length)
        finally:
            raw.close()
    narrow, wide = sizes
    assert narrow > 2 * wide, sizes


def test_uvicorn_without_permessage_deflate() -> None:
    """``--ws-per-message-deflate false`` still works: no extension, the plain class."""
    with serve({"max_http_buffer_size": LIMIT}, ws_per_message_deflate=False) as server:
        client = EioClient(server)
        try:
            assert client.extensions == ""
            assert type(server.websocket(client.sid)) is DirectWebSocket
            assert client.call("echo", chat(100)) == chat(100)
        finally:
            client.close()


def test_aiohttp_prepare_hook_that_waits_with_deflate() -> None:
    """The loop ran during aiohttp's handshake (no takeover): aiohttp keeps the connection
    and inflates what the client compresses under the parameters we negotiated."""
    import asyncio

    async def hook(request: Any, response: Any) -> None:
        await asyncio.sleep(0.01)

    with serve_aiohttp({"max_http_buffer_size": LIMIT}, on_prepare=hook) as server:
        client = EioClient(server)
        try:
            assert "permessage-deflate" in client.extensions
            assert not server.is_direct(client.sid)
            for value in ("small", chat(300)):
                assert client.call("echo", value) == value
        finally:
            client.close()


@pytest.mark.parametrize("host", HOSTS)
def test_js_client_with_default_options(host: str) -> None:
    """node's socket.io-client (ws offers permessage-deflate, compresses from 1 KiB)."""
    with running(host) as server:
        node = NodeClient(server.url, ["websocket"])
        try:
            result = node.result()
            ws = server.websocket(result["sid"])
        finally:
            node.finish()
        assert "permessage-deflate" in result["extensions"]
        assert isinstance(ws, DeflateWebSocket)
        assert result["echoes"] == ["héllo", {"n": 1, "big": "y" * 5000}, [1, 2, 3]]
        assert result["news"] == ["from-js"]


PAGE = '<!doctype html><html><head><script src="/io.js"></script></head><body></body></html>'


@pytest.mark.parametrize("host", HOSTS)
def test_chromium_is_taken_over(host: str, tmp_path: Any) -> None:
    """A real browser: Chromium offers permessage-deflate and compresses every message
    (context takeover); its page and socket.io-client are served by the same server."""
    from tests.browser.availability import chromium_path, unavailable
    from tests.interop.harness import find_node

    executable = chromium_path()
    if executable is None:
        unavailable("no chromium executable (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright (Python) is not installed")
    find_node()  # installs tests/interop/js's pinned packages when missing
    script = (Path(__file__).resolve().parents[1] / "interop" / "js" / "node_modules"
              / "socket.io-client" / "dist" / "socket.io.min.js")
    page_file = tmp_path / "index.html"
    page_file.write_text(PAGE)
    files = {"/": str(page_file), "/io.js": str(script)}
    server_cm = (serve({}, files=files) if host == "uvicorn"
                 else serve_aiohttp({}, files=files))
    with server_cm as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             timeout=60_000)
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            result = page.evaluate("""async () => {
              const socket = io({transports: ['websocket'], reconnection: false});
              await new Promise((ok, ko) => {
                socket.on('connect', ok); socket.on('connect_error', ko); });
              const echoes = [];
              for (const v of ['hi', 'y'.repeat(5000), Array.from({length: 300},
                   (_, i) => ({user: 'u' + i, text: 'message number ' + i + ' in the room'}))]) {
                echoes.push(await socket.timeout(8000).emitWithAck('echo', v));
              }
              return {sid: socket.id, echoes};
            }""")
            assert isinstance(server.websocket(result["sid"]), DeflateWebSocket)
        finally:
            browser.close()
    assert result["echoes"] == ["hi", "y" * 5000, chat(300)]
