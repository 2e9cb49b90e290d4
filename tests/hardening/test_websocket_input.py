"""Hostile websocket traffic and upgrades, and heartbeat abuse, against a real server."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from typing import Any

import pytest
import websocket

from tests.runtime.live import wait_until
from tests.runtime.test_bad_input import RawClient

from .conftest import Live, Warnings, assert_echo, live_client_tasks


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True,
          rsv: int = 0) -> bytes:
    """One websocket frame as a client would put it on the wire."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65536:
        head += bytes([mask_bit | 126]) + struct.pack(">H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawSocket:
    """A websocket spoken byte by byte, so that invalid frames can be sent."""

    def __init__(self, live: Live) -> None:
        self.sock = socket.create_connection(("127.0.0.1", live.port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{live.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.sock.recv(4096)
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        opening = self.read_text()
        self.sid = json.loads(opening[1:])["sid"]
        self.sock.sendall(frame(1, b"40"))
        assert self.read_text().startswith("40{")

    def _need(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._need(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._need(8))[0]
        return b0 & 0x0F, self._need(length)

    def read_text(self) -> str:
        opcode, payload = self.read_frame()
        assert opcode == 1, (opcode, payload)
        return payload.decode()

    def closed_by_server(self, timeout: float = 3.0) -> bool:
        """True when the server sends a close frame or drops the connection in time."""
        self.sock.settimeout(timeout)
        try:
            while True:
                opcode, payload = self.read_frame()
                if opcode == 8:
                    return True
        except (ConnectionError, OSError):
            return True
        except TimeoutError:
            return False


@pytest.mark.parametrize("case", [
    "reserved-opcode", "unmasked", "rsv-bits", "invalid-utf8-text", "fragmented-control",
    "continuation-without-start", "oversized-control",
])
def test_invalid_frames_close_only_that_connection(live: Live, bystander: RawClient,
                                                   warnings: Warnings, case: str) -> None:
    raw = RawSocket(live)
    seen = len(live.disconnects)
    bad = {
        "reserved-opcode": frame(0x3, b"x"),
        "unmasked": frame(1, b"42[\"echo\",1]", masked=False),
        "rsv-bits": frame(1, b"42[\"echo\",1]", rsv=0b111),
        "invalid-utf8-text": frame(1, b"42[\"\xff\xfe\"]"),
        "fragmented-control": frame(0x9, b"ping", fin=False),
        "continuation-without-start": frame(0x0, b"42"),
        "oversized-control": frame(0x9, b"x" * 200),
    }[case]
    raw.sock.sendall(bad)
    assert raw.closed_by_server()
    raw.sock.close()
    sid, reason = live.wait_disconnect(seen)
    assert reason in ("transport close", "transport error")
    # the host's websocket library rejects the frame; our code logs at most one line and
    # never a traceback
    time.sleep(0.1)  # a late log line would otherwise escape the count (no event for it)
    records = warnings.records()
    assert len(records) <= 1, [r.getMessage() for r in records]
    assert all(r.exc_info is None for r in records), [r.getMessage() for r in records]
    assert_echo(bystander)


def test_oversized_message(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    raw = RawSocket(live)
    seen = len(live.disconnects)
    raw.sock.sendall(frame(1, b'42["echo","' + b"x" * 20_000 + b'"]'))
    assert raw.closed_by_server()
    warnings.assert_one(raw.sid, "max_http_buffer_size")
    assert live.wait_disconnect(seen)[1] == "transport error"
    assert_echo(bystander)


def test_fragment_flood_over_the_limit(live: Live, bystander: RawClient,
                                       warnings: Warnings) -> None:
    """A message sent as 2,000 tiny fragments (20 kB in all, the limit being 10 kB)."""
    raw = RawSocket(live)
    parts = [frame(1, b'42["echo","', fin=False)]
    parts += [frame(0, b"xxxxxxxxxx", fin=False) for _ in range(2000)]
    parts.append(frame(0, b'"]'))
    try:
        raw.sock.sendall(b"".join(parts))
    except OSError:
        pass  # the server may close before reading it all
    assert raw.closed_by_server()
    assert len(warnings.wait(1)) == 1
    assert warnings.records()[0].exc_info is None
    assert_echo(bystander)


def _upgrade(live: Live, sid: str) -> Any:
    return websocket.create_connection(
        live.ws_url(f"EIO=4&transport=websocket&sid={sid}"), timeout=5)


def test_second_upgrade_for_the_same_sid(live: Live, bystander: RawClient,
                                         warnings: Warnings) -> None:
    sid = live.handshake()
    assert live.post(sid, b"40").body == b"ok"
    first = _upgrade(live, sid)
    first.send("2probe")
    assert first.recv() == "3probe"
    first.send("5")
    with pytest.raises(websocket.WebSocketException):
        _upgrade(live, sid).recv()
    warnings.assert_one(sid, "websocket refused")
    assert live.poll(sid).error_code() == 3  # polling after the upgrade
    first.settimeout(5)
    first.send('421["echo","upgraded"]')
    replies = [first.recv() for _ in range(2)]
    assert '431["upgraded"]' in replies  # (the CONNECT answer may come first)
    first.close()
    assert_echo(bystander)


def test_an_upgrade_that_stalls(make_live: Any, warnings: Warnings) -> None:
    live = make_live(upgrade_timeout=0.3)
    bystander = live.client()
    sid = live.handshake()
    assert live.post(sid, b"40").body == b"ok"
    assert live.poll(sid).body.startswith(b"40{")
    stalled = _upgrade(live, sid)  # never sends 2probe
    start = time.monotonic()
    stalled.settimeout(5)
    try:
        assert stalled.recv() == ""  # the server closes it, sending nothing
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    assert time.monotonic() - start < 0.3 + 2.0
    warnings.assert_one(sid, "upgrade failed")
    # polling still works
    assert live.post(sid, b'421["echo","polling"]').body == b"ok"
    assert live.poll(sid).body == b'431["polling"]'
    assert_echo(bystander)


def test_hostile_upgrade_headers(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    """Upgrade headers that are not a websocket handshake: a plain answer, no session."""
    head = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{live.port}"
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n"
            "Sec-WebSocket-Key: nope\r\n\r\n").encode()
    answer = live.raw(head)
    assert not answer.startswith(b"HTTP/1.1 101"), answer[:200]
    assert all(r.exc_info is None for r in warnings.records())
    assert_echo(bystander)


# -- heartbeat ------------------------------------------------------------------------
def test_client_that_never_answers_pings_is_dropped_on_time(make_live: Any) -> None:
    live = make_live(ping_interval=0.3, ping_timeout=0.3)
    silent = websocket.create_connection(live.ws_url(), timeout=5)
    silent.recv()
    silent.send("40")
    joined = time.monotonic()
    wait_until(lambda: live.disconnects, 0.3 + 0.3 + 2.0, "the silent client to be dropped")
    assert live.disconnects[0][1] == "ping timeout"
    assert time.monotonic() - joined >= 0.5  # not before interval + timeout
    silent.close()


def test_ping_pong_flood_creates_no_tasks_or_threads(live: Live, bystander: RawClient,
                                                     warnings: Warnings) -> None:
    before = live_client_tasks(live, bystander)
    flooder = websocket.create_connection(live.ws_url(), timeout=5)
    flooder.recv()
    flooder.send("40")
    assert flooder.recv().startswith("40{")
    for _ in range(1500):
        flooder.send("3")  # unsolicited pongs
        flooder.send("2x")  # pings (answered "3x" for old clients)
    answers = 0
    while answers < 1500:
        if flooder.recv() == "3x":
            answers += 1
    during = live_client_tasks(live, bystander)
    # one connection more (its reader), nothing per packet
    assert during <= before + 2, (before, during)
    flooder.close()
    warnings.assert_none()
    assert_echo(bystander)
