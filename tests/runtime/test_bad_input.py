"""Hostile Socket.IO packets sent as raw websocket frames: the sender gets a protocol answer,
the server logs one line for it, and other clients are not affected."""

from __future__ import annotations

import logging
import queue
from typing import Any

import pytest
import websocket  # websocket-client

import sio_integrations as sio_mod

from .live import run_asgi, run_wsgi

RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener",
            "removeListener"]


class RawClient:
    """An Engine.IO v4 + Socket.IO v5 client speaking raw frames over websocket."""

    def __init__(self, base_url: str, join: bool = True) -> None:
        url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=5)
        opening = self.ws.recv()
        assert opening.startswith("0{")
        if join:
            self.ws.send("40")
            reply = self.recv()
            assert reply.startswith("40{"), reply

    def recv(self) -> Any:
        while True:
            frame = self.ws.recv()
            if frame == "2":  # answer heartbeats, keep reading
                self.ws.send("3")
                continue
            return frame

    def closed(self) -> bool:
        """True when the server closed the connection (reads until close or timeout)."""
        try:
            while True:
                frame = self.ws.recv()
                if frame in ("", None) or (isinstance(frame, str) and frame.startswith("1")):
                    return True
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True
        except websocket.WebSocketTimeoutException:
            return False


def build(kind: str) -> tuple[Any, Any, queue.Queue[Any]]:
    seen: queue.Queue[Any] = queue.Queue()
    if kind == "async":
        sio: Any = sio_mod.AsyncServer(async_mode="asgi")
        app: Any = sio_mod.ASGIApp(sio)
    else:
        sio = sio_mod.Server(async_mode="threading")
        app = sio_mod.WSGIApp(sio)

    def echo(sid: str, data: Any) -> Any:
        return data

    def anything(event: str, sid: str, *args: Any) -> None:
        seen.put(event)

    sio.on("echo", echo)
    sio.on("*", anything)
    for name in RESERVED:
        if name not in ("connect", "disconnect"):
            sio.on(name, lambda *a, n=name: seen.put(n))
    return sio, app, seen


@pytest.fixture(params=["async", "sync"])
def server(request: pytest.FixtureRequest) -> Any:
    sio, app, seen = build(request.param)
    runner = run_asgi(app) if request.param == "async" else run_wsgi(app)
    with runner as url:
        yield url, seen


MALFORMED = [
    "42[invalid json",
    '42{"not":"a list"}',
    "42[]",
    "9",
    '42abc["x"]',
    '451-["x",{"_placeholder":true,"num":0}]' + "",  # then a text frame, not binary
    '4999-["x"]',  # far more attachments than allowed
]


@pytest.mark.parametrize("frame", MALFORMED)
def test_malformed_packet_closes_only_the_sender(server: Any, frame: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    url, _ = server
    good = RawClient(url)
    bad = RawClient(url)
    caplog.set_level(logging.WARNING)
    bad.ws.send(frame)
    if frame.startswith("451-"):
        bad.ws.send("not an attachment")
    assert bad.closed()
    good.ws.send('420["echo",{"still":"fine"}]')
    assert good.recv() == '430[{"still":"fine"}]'
    ours = [r for r in caplog.records if r.name.startswith("sio_integrations")
            and r.levelno == logging.WARNING]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert ours[0].exc_info is None


@pytest.mark.parametrize("frame", [f'42["{n}","x"]' for n in RESERVED] + ['42[123,"x"]'])
def test_reserved_or_non_string_event_names_never_reach_handlers(server: Any,
                                                                  frame: str) -> None:
    """Like the JS parser, such a packet is a parse error: the sender is disconnected."""
    url, seen = server
    client = RawClient(url)
    client.ws.send(frame)
    assert client.closed()
    assert seen.empty()


def test_event_for_a_namespace_not_joined_closes_like_js(server: Any) -> None:
    """The JS server treats a packet for a namespace the client is not in as an invalid
    state and closes the connection; the handler never runs."""
    url, seen = server
    client = RawClient(url)
    client.ws.send('42/admin,["steal","x"]')
    assert client.closed()
    assert seen.empty()


def test_unknown_namespace_gets_connect_error(server: Any) -> None:
    url, _ = server
    client = RawClient(url)
    client.ws.send("40/nowhere,")
    assert client.recv() == '44/nowhere,{"message":"Invalid namespace"}'
    client.ws.send('421["echo","still connected"]')
    assert client.recv() == '431["still connected"]'
