"""Strict ordering across a polling-to-websocket upgrade under load (issue 10, delivery).

A client connects over long-polling and upgrades while the server emits a numbered stream
to it from a background task in a tight loop and the client emits its own numbered
stream. Both sides must see every event exactly once and in order, whichever transport
carried it. With raw frames, the test upgrades in the middle of both streams (and checks
on the server that the client's transport changed during them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import socketio as reference  # python-socketio: test-only peer
import websocket

import sio_integrations as sio_mod
from tests.runtime.live import run_asgi, run_wsgi, wait_until

COUNT = 2000
#: an endless stream still ends here (a bound for every loop)
CAP = 200_000


class Recorder:
    def __init__(self) -> None:
        self.received: dict[str, list[int]] = {}
        self.sent: dict[str, int] = {}
        #: the transport of the client when each of its numbers was emitted / received
        self.out_transport: dict[str, list[str]] = {}
        self.in_transport: dict[str, list[str]] = {}
        #: clients whose endless stream should stop
        self.stop: set[str] = set()


@contextmanager
def serve(kind: str) -> Iterator[tuple[str, Recorder]]:
    rec = Recorder()
    options: dict[str, Any] = {"ping_interval": 20, "ping_timeout": 20,
                               "cors_allowed_origins": []}
    if kind == "asgi":
        sio: Any = sio_mod.AsyncServer(async_mode="asgi", **options)

        async def stream(sid: str, count: int) -> None:
            for n in range(count):
                rec.out_transport.setdefault(sid, []).append(sio.transport(sid))
                await sio.emit("n", n, to=sid)
                await sio.sleep(0)  # no delay: lets the loop serve the upgrade meanwhile
            rec.sent[sid] = count

        async def start(sid: str, count: int) -> str:
            sio.start_background_task(stream, sid, count)
            return "started"

        async def endless(sid: str) -> None:
            n = 0
            while sid not in rec.stop and n < CAP:
                rec.out_transport.setdefault(sid, []).append(sio.transport(sid))
                await sio.emit("n", n, to=sid)
                await sio.sleep(0)
                n += 1
            await sio.emit("end", n, to=sid)

        async def start_endless(sid: str) -> None:
            sio.start_background_task(endless, sid)

        async def stop(sid: str) -> None:
            rec.stop.add(sid)

        async def c(sid: str, n: int) -> None:
            rec.received.setdefault(sid, []).append(n)
            rec.in_transport.setdefault(sid, []).append(sio.transport(sid))

        app: Any = sio_mod.ASGIApp(sio)
    else:
        sio = sio_mod.Server(async_mode="threading", **options)

        def stream(sid: str, count: int) -> None:  # type: ignore[misc]
            for n in range(count):
                rec.out_transport.setdefault(sid, []).append(sio.transport(sid))
                sio.emit("n", n, to=sid)
            rec.sent[sid] = count

        def start(sid: str, count: int) -> str:  # type: ignore[misc]
            sio.start_background_task(stream, sid, count)
            return "started"

        def endless(sid: str) -> None:  # type: ignore[misc]
            n = 0
            while sid not in rec.stop and n < CAP:
                rec.out_transport.setdefault(sid, []).append(sio.transport(sid))
                sio.emit("n", n, to=sid)
                sio.sleep(0)
                n += 1
            sio.emit("end", n, to=sid)

        def start_endless(sid: str) -> None:  # type: ignore[misc]
            sio.start_background_task(endless, sid)

        def stop(sid: str) -> None:  # type: ignore[misc]
            rec.stop.add(sid)

        def c(sid: str, n: int) -> None:  # type: ignore[misc]
            rec.received.setdefault(sid, []).append(n)
            rec.in_transport.setdefault(sid, []).append(sio.transport(sid))

        app = sio_mod.WSGIApp(sio)
    sio.on("start", start)
    sio.on("endless", start_endless)
    sio.on("stop", stop)
    sio.on("c", c)
    with (run_asgi(app) if kind == "asgi" else run_wsgi(app)) as url:
        yield url, rec


@pytest.fixture(params=["asgi", "wsgi"], scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Recorder]]:
    with serve(str(request.param)) as running:
        yield running


def test_streams_in_both_directions_survive_the_upgrade(server: tuple[str, Recorder]
                                                        ) -> None:
    url, rec = server
    client = reference.Client()
    got: list[int] = []
    started = threading.Event()

    def emit_numbers() -> None:
        started.wait(10)
        for n in range(COUNT):
            client.emit("c", n)

    def on_connect() -> None:
        # from the connect event, before the upgrade has finished: both streams start
        # while the client is still on long-polling
        client.emit("start", COUNT)
        started.set()

    client.on("n", got.append)
    client.on("connect", on_connect)
    sender = threading.Thread(target=emit_numbers, daemon=True)
    sender.start()
    client.connect(url, transports=["polling", "websocket"], wait_timeout=10)
    try:
        sid = client.get_sid()
        assert sid is not None
        wait_until(lambda: len(got) >= COUNT, 60, "the server's stream")
        sender.join(60)
        wait_until(lambda: len(rec.received.get(sid, [])) >= COUNT, 60,
                   "the client's stream at the server")
        wait_until(lambda: client.transport() == "websocket", 10, "the upgrade")
        assert rec.sent[sid] == COUNT
        # a round trip after the streams: anything duplicated would have arrived by now
        client.call("start", 0, timeout=10)
        assert got == list(range(COUNT))
        assert rec.received[sid] == list(range(COUNT))
        # (python-engineio's client upgrades inside connect(), so its streams mostly travel
        # on the websocket; the raw client below controls the moment of the upgrade)
    finally:
        client.disconnect()


class RawUpgrader:
    """Engine.IO by hand: long-polling first, then the upgrade at a moment of our choice."""

    def __init__(self, url: str) -> None:
        self.endpoint = url + "/socket.io/"
        self.http = requests.Session()
        opened = self.http.get(self.endpoint, params={"EIO": "4", "transport": "polling"},
                               timeout=10).text
        self.sid = json.loads(opened[1:])["sid"]
        self.query = {"EIO": "4", "transport": "polling", "sid": self.sid}
        self.numbers: list[int] = []
        self.end: int | None = None
        self.ws: websocket.WebSocket | None = None

    def post(self, *packets: str) -> None:
        answer = self.http.post(self.endpoint, params=self.query, data="\x1e".join(packets),
                                timeout=10)
        assert answer.text == "ok", answer.text

    def poll(self) -> list[str]:
        packets = self.http.get(self.endpoint, params=self.query, timeout=10).text.split("\x1e")
        for packet in packets:
            self._take(packet)
        return packets

    def _take(self, packet: str) -> None:
        if packet.startswith('42["n",'):
            self.numbers.append(json.loads(packet[2:])[1])
        elif packet.startswith('42["end",'):
            self.end = json.loads(packet[2:])[1]
        elif packet == "2":
            self.send_pong()

    def send_pong(self) -> None:
        if self.ws is not None:
            self.ws.send("3")
        else:
            self.post("3")

    def probe(self) -> None:
        url = self.endpoint.replace("http://", "ws://")
        self.ws = websocket.create_connection(
            f"{url}?EIO=4&transport=websocket&sid={self.sid}", timeout=10)
        self.ws.send("2probe")
        assert self.ws.recv() == "3probe"

    def read_ws_until(self, count: int) -> None:
        assert self.ws is not None
        while len(self.numbers) < count and self.end is None:
            self._take(self.ws.recv())


def test_raw_upgrade_in_the_middle_of_both_streams(server: tuple[str, Recorder]) -> None:
    """The server emits without pause (its stream ends only when the client, upgraded,
    says stop), so the switch always happens in the middle of it."""
    url, rec = server
    raw = RawUpgrader(url)
    raw.post("40")
    joined = raw.poll()
    assert joined[0].startswith("40{"), joined
    sid = json.loads(joined[0][2:])["sid"]
    mine = iter(range(COUNT))

    def emit_batch(size: int) -> list[str]:
        return [f'42["c",{next(mine)}]' for _ in range(size)]

    raw.post(*emit_batch(250))  # the client's stream starts on long-polling
    raw.post('42["endless"]')  # and the server's
    while not raw.numbers:  # which arrives over long-polling
        raw.poll()
    raw.post(*emit_batch(250))
    raw.probe()  # the upgrade starts while the server is emitting
    # as the JS client does: one last poll (the server ends it with a noop), then "5";
    # meanwhile the server's frames wait for the new transport
    raw.poll()
    raw.post(*emit_batch(250))
    assert raw.ws is not None
    raw.ws.send("5")  # the switch
    for n in mine:
        raw.ws.send(f'42["c",{n}]')
    raw.read_ws_until(len(raw.numbers) + COUNT)  # a good part of the stream on websocket
    raw.ws.send('42["stop"]')
    while raw.end is None:  # bounded: the stream ends at CAP anyway
        raw._take(raw.ws.recv())
    wait_until(lambda: len(rec.received.get(sid, [])) >= COUNT, 30,
               "the client's stream at the server")
    assert raw.numbers == list(range(raw.end))
    assert rec.received[sid] == list(range(COUNT))
    # the switch happened in the middle of both streams
    for seen in (rec.out_transport[sid], rec.in_transport[sid]):
        switch = seen.index("websocket") if "websocket" in seen else len(seen)
        assert seen[0] == "polling" and 0 < switch < len(seen), (switch, seen[-1])
        assert "polling" not in seen[switch:]
    raw.ws.close()
