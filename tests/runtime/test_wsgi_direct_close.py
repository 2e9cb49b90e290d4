"""The peer's close frame on the threading direct websocket path (runtime/wsgi_direct.py)
while the engine still reads message by message with ``receive()``: the upgrade probe.

A client that upgrades and leaves at once (the JS client's ``disconnect()`` right after the
upgrade) puts "5", its last events, "41" and the close frame in one TCP segment: the close
must be answered only after every message before it reached the engine."""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .direct_ws_support import RawWS, client_frame
from .live import wait_until
from .test_wsgi_direct_ws import Served, serve

pytestmark = pytest.mark.timeout(120)

CLOSE = client_frame(8, struct.pack(">H", 1000))


class Recorded:
    """The served app plus what its ``seq`` handler saw, per Socket.IO sid."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.seen: dict[str, list[int]] = {}
        self._lock = threading.Lock()

        @served.sio.event  # type: ignore[untyped-decorator]
        def seq(sid: str, n: int) -> int:
            with self._lock:
                self.seen.setdefault(sid, []).append(n)
            return n


@pytest.fixture(scope="module")
def app() -> Iterator[Recorded]:
    with serve() as served:
        yield Recorded(served)


def _polling_session(port: int) -> tuple[str, str]:
    """Open a long-polling session and join "/": (Engine.IO sid, Socket.IO sid)."""
    base = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    opening = requests.get(base, timeout=10).text
    eio_sid = json.loads(opening[1:])["sid"]
    url = f"{base}&sid={eio_sid}"
    assert requests.post(url, data="40", timeout=10).text == "ok"
    reply = requests.get(url, timeout=10).text
    assert reply.startswith("40{"), reply
    return eio_sid, json.loads(reply[2:])["sid"]


def _frames(*messages: str) -> bytes:
    return b"".join(client_frame(1, m.encode()) for m in messages)


@pytest.mark.parametrize("probe", ["answered first", "in the same write"])
def test_upgrade_events_disconnect_and_close_in_one_write(app: Recorded, probe: str) -> None:
    """The close frame comes in the same read as "5" and the messages after it: the events
    are handled (their acks written before our close frame) and the leaver's reason is
    its own "41" ("client disconnect"), not "transport close"."""
    served = app.served
    eio_sid, sid = _polling_session(served.port)
    leaving = _frames("5", '421["seq",4]', '422["seq",5]', "41") + CLOSE
    ws = RawWS(served.port, upgrade_sid=eio_sid)
    try:
        if probe == "answered first":
            ws.text("2probe")
            assert ws.read_text() == "3probe"
            ws.send(leaving)
        else:
            ws.send(_frames("2probe") + leaving)
            assert ws.read_text() == "3probe"
        assert [ws.read_text(), ws.read_text()] == ["431[4]", "432[5]"]
        assert ws.read_close() == 1000
        assert ws.eof()
    finally:
        ws.close()
    assert served.reason(sid) == "client disconnect"
    assert app.seen[sid] == [4, 5]
    wait_until(lambda: eio_sid not in served.sio.eio._clients, 10, "the session to end")


def test_close_right_after_the_upgrade_packet(app: Recorded) -> None:
    """Nothing between "5" and the close frame: the session still upgrades, then ends with
    "transport close" (the peer's close answered with its own code)."""
    served = app.served
    eio_sid, sid = _polling_session(served.port)
    ws = RawWS(served.port, upgrade_sid=eio_sid)
    try:
        ws.text("2probe")
        assert ws.read_text() == "3probe"
        ws.send(_frames("5") + client_frame(8, struct.pack(">H", 1001)))
        assert ws.read_close() == 1001
        assert ws.eof()
    finally:
        ws.close()
    assert served.reason(sid) == "transport close"
    wait_until(lambda: eio_sid not in served.sio.eio._clients, 10, "the session to end")


def test_close_during_the_probe_aborts_the_upgrade(app: Recorded) -> None:
    """A close frame before "5": the upgrade fails, the close is answered (a ping after
    the close frame is not), and the long-polling session keeps working."""
    served = app.served
    eio_sid, sid = _polling_session(served.port)
    ws = RawWS(served.port, upgrade_sid=eio_sid)
    try:
        ws.send(_frames("2probe") + CLOSE + client_frame(9, b"late"))
        assert ws.read_text() == "3probe"
        assert ws.read_frame() == (8, struct.pack(">H", 1000))
        assert ws.eof()
    finally:
        ws.close()
    url = (f"http://127.0.0.1:{served.port}/socket.io/?EIO=4&transport=polling"
           f"&sid={eio_sid}")
    assert requests.post(url, data='423["seq",7]', timeout=10).text == "ok"
    replies: list[str] = []

    def acked() -> Any:
        replies.extend(requests.get(url, timeout=10).text.split("\x1e"))
        return "433[7]" in replies

    wait_until(acked, 20, "the ack over long-polling")
    assert app.seen[sid] == [7]
    assert sid not in {s for s, _ in served.disconnects}
