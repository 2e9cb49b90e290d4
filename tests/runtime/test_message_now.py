"""AsyncServer.engine_message_now (the coroutine-free path) and engine_message (the full
one) may each take any message of a binary packet: whatever mix the engine uses, every
packet is handled once, in order, and a binary ACK still reaches its callback."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

import sio_integrations as socketio

HEADER = '51-["bin",{"_placeholder":true,"num":0}]'


class Wire:
    """Stands in for the engine: records what the server sends."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, eio_sid: str, data: Any) -> None:
        self.sent.append(data)

    async def send_many(self, eio_sid: str, items: list[Any]) -> None:
        self.sent.extend(items)

    def send_now(self, eio_sid: str, data: Any) -> bool:
        self.sent.append(data)
        return True


async def _server() -> tuple[Any, list[Any], Wire]:
    sio = socketio.AsyncServer(async_mode="asgi")
    seen: list[Any] = []

    @sio.on("bin")  # type: ignore[untyped-decorator]
    async def on_bin(sid: str, data: Any) -> None:
        seen.append(data)

    wire = Wire()
    for name in ("send", "send_many", "send_now"):  # the engine is not needed here
        setattr(sio.eio, name, getattr(wire, name))
    await sio.engine_connect("e1", {"REMOTE_ADDR": "127.0.0.1"})
    await sio.engine_message("e1", "0")
    return sio, seen, wire


@pytest.mark.parametrize("paths", list(itertools.product("nf", repeat=3)))
def test_any_mix_of_paths_handles_each_binary_packet_once(paths: tuple[str, ...]) -> None:
    async def main() -> None:
        sio, seen, _ = await _server()

        async def deliver(data: Any, path: str) -> None:
            if path == "f" or not sio.engine_message_now("e1", data):
                await sio.engine_message("e1", data)

        for i in range(2):  # two packets, each: header, attachment, a plain event after
            await deliver(HEADER, paths[0])
            await deliver(bytes([i]) * 3, paths[1])
            await deliver(f'2["bin",{{"n":{i}}}]', paths[2])
        await asyncio.sleep(0)
        assert seen == [b"\x00" * 3, {"n": 0}, b"\x01" * 3, {"n": 1}]

    asyncio.run(main())


@pytest.mark.parametrize("first", ["now", "full"])
def test_binary_ack_after_a_binary_event_reaches_its_callback(first: str) -> None:
    async def main() -> None:
        sio, seen, wire = await _server()
        got: list[Any] = []
        sid = sio.manager.sid_from_eio_sid("e1", "/")
        await sio.emit("ask", to=sid, callback=lambda *a: got.append(a))
        ack_id = int(wire.sent[-1][1:wire.sent[-1].index("[")])
        # a binary event whose header the now-path took and whose attachment the full
        # path took (the inbox was about full), then a binary ACK for our emit
        assert sio.engine_message_now("e1", HEADER) is True
        await sio.engine_message("e1", b"abc")
        for data in (f'61-{ack_id}[{{"_placeholder":true,"num":0}}]', b"xyz"):
            if first == "full" or not sio.engine_message_now("e1", data):
                await sio.engine_message("e1", data)
        await asyncio.sleep(0)
        assert seen == [b"abc"]
        assert got == [(b"xyz",)]

    asyncio.run(main())
