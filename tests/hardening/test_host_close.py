"""A websocket closed by its peer is seen at once on Sanic and Tornado (issue 10, (c)).

A browser tab that closes sends a close frame and then ends the TCP connection. Sanic
cancels its connection task when the connection ends, which used to kill the engine's
reader before it closed the session: the server only noticed at its next failed ping
(~10 s later in a browser, up to ``ping_interval``). Each case here sends real frames from
a raw websocket client and times the server's ``disconnect`` handler from its output.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator

import pytest
import requests
import websocket

from .hostproc import Host, available

#: the disconnect handler must run within this long after the close frame (the bug: ~10 s)
BOUND = 1.5
KINDS = ["sanic-plugin", "sanic-attach", "tornado-plugin", "tornado-handler"]


@pytest.fixture(scope="module", params=KINDS)
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    if not available(request.param.split("-")[0]):
        pytest.skip(f"{request.param} needs a package that is not installed")
    running = Host(request.param)
    try:
        yield running
    finally:
        running.close()


def _connect(host: Host, upgrade: bool) -> tuple[websocket.WebSocket, str]:
    """A Socket.IO connection on a websocket (opened directly, or upgraded from polling)
    with the main namespace joined; returns the socket and the Socket.IO sid."""
    base = f"127.0.0.1:{host.port}/socket.io/?EIO=4"
    if upgrade:
        with requests.Session() as http:
            r = http.get(f"http://{base}&transport=polling", timeout=5)
            sid = json.loads(r.text[1:])["sid"]
            assert http.post(f"http://{base}&transport=polling&sid={sid}", data="40",
                             timeout=5).text == "ok"
            joined = http.get(f"http://{base}&transport=polling&sid={sid}", timeout=5).text
            ws = websocket.create_connection(f"ws://{base}&transport=websocket&sid={sid}",
                                             timeout=5)
            ws.send("2probe")
            assert ws.recv() == "3probe"
            ws.send("5")
    else:
        ws = websocket.create_connection(f"ws://{base}&transport=websocket", timeout=5)
        assert ws.recv().startswith("0{")
        ws.send("40")
        joined = ws.recv()
    assert joined.startswith("40{"), joined
    ws.send('421["echo","hi"]')  # the session works on the websocket
    assert ws.recv() == '431["hi"]'
    return ws, json.loads(joined[2:])["sid"]


def _assert_close_answered(ws: websocket.WebSocket) -> None:
    """The server answers our close frame with its own (the closing handshake)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return
        assert frame.opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_PING), frame
    raise AssertionError("no close frame from the server")


@pytest.mark.parametrize("upgrade", [False, True], ids=["websocket", "upgraded"])
@pytest.mark.parametrize("how", ["close-frame-and-fin", "close-frame"])
def test_close_frame_is_seen_at_once(host: Host, upgrade: bool, how: str) -> None:
    ws, sid = _connect(host, upgrade)
    host.wait_for(f"CONNECT {sid}", 5)
    sent = time.monotonic()
    ws.send_close(1001)  # what a browser sends when its tab closes
    if how == "close-frame-and-fin":
        ws.sock.shutdown(socket.SHUT_WR)  # ...followed by the end of its stream
    _assert_close_answered(ws)
    when, line = host.wait_for(f"DISCONNECT {sid}", 15)
    assert line == f"DISCONNECT {sid} transport close", line
    assert when - sent < BOUND, f"disconnect seen {when - sent:.2f} s after the close frame"
    ws.sock.close()


@pytest.mark.parametrize("upgrade", [False, True], ids=["websocket", "upgraded"])
def test_reset_connection_is_seen_at_once(host: Host, upgrade: bool) -> None:
    """No close frame at all: the TCP connection is reset (RST)."""
    ws, sid = _connect(host, upgrade)
    host.wait_for(f"CONNECT {sid}", 5)
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sent = time.monotonic()
    ws.sock.close()
    when, line = host.wait_for(f"DISCONNECT {sid}", 15)
    assert line.split(maxsplit=2)[2] in ("transport close", "transport error"), line
    assert when - sent < BOUND, f"disconnect seen {when - sent:.2f} s after the reset"


def test_host_logged_no_error(host: Host) -> None:
    """The sessions above ended without an ERROR or a traceback in the host's log (Sanic
    used to log "Invalid response type None" for every websocket of ``attach()``)."""
    ws, sid = _connect(host, upgrade=False)
    ws.close()
    host.wait_for(f"DISCONNECT {sid}", 15)
    ws, sid = _connect(host, upgrade=True)
    ws.close()
    host.wait_for(f"DISCONNECT {sid}", 15)
    time.sleep(0.2)  # (lets the host log whatever follows the disconnect; not a sync point)
    output = "".join(host.output)
    assert "Traceback" not in output and "ERROR" not in output, output[-3000:]
