"""Cost of the protocol core's hot paths (micro-benchmarks).

Not part of the normal test run (set ``PROTOCOL_PERF=1`` to run it as a test, which checks
the budgets below). As a script, it prints the table found in ``docs/protocol.md``::

    python -m tests.protocol.test_protocol_perf
"""

from __future__ import annotations

import os
import timeit
from collections.abc import Callable
from typing import Any

import pytest

from sio_integrations.protocol import (
    Ack,
    Connect,
    JsonSerializer,
    Packet,
    PacketType,
    RoomRegistry,
    ServerConnection,
    get_serializer,
)

#: microseconds allowed per operation (about 2x what a loaded 2-vCPU machine measures)
BUDGETS = {
    "receive_data: small event with ack id": 5.0,
    "encode_ack: small": 3.0,
    "send(Ack): small": 3.0,
    "encode_event: small object": 3.0,
    "encode_event: one binary argument": 8.0,
    "msgpack receive_data: small event": 6.0,
    "msgpack encode_ack: small": 3.0,
    "recipients: 1000-sid room": 15.0,
    "recipients: 1000-sid room, skip one": 20.0,
}


def best_us(fn: Callable[[], Any], number: int = 20_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def measure() -> dict[str, float]:
    frame = '21["message",{"text":"hello world","n":42}]'
    json_codec = JsonSerializer()
    conn = ServerConnection(json_codec)
    conn.receive_data("0")
    conn.send(Connect(data={"sid": "abc"}))
    mp = get_serializer("msgpack")
    mp_conn = ServerConnection(mp)
    mp_conn.receive_data(mp.encode(Packet(type=PacketType.CONNECT))[0])
    mp_conn.send(Connect(data={"sid": "abc"}))
    mp_frame = mp.encode_event("/", "message", ({"text": "hello world", "n": 42},), 21)[0]
    rooms = RoomRegistry()
    for i in range(1000):
        rooms.connect("/", f"sid{i}")
        rooms.enter("/", f"sid{i}", "room")
    small = ({"text": "hello world", "n": 42},)
    ack = Ack(ack_id=21, args=["ok"])
    return {
        "receive_data: small event with ack id": best_us(lambda: conn.receive_data(frame)),
        "encode_ack: small": best_us(lambda: json_codec.encode_ack("/", 21, ["ok"])),
        "send(Ack): small": best_us(lambda: conn.send(ack)),
        "encode_event: small object": best_us(
            lambda: json_codec.encode_event("/", "message", small)
        ),
        "encode_event: one binary argument": best_us(
            lambda: json_codec.encode_event("/", "message", (b"abc",))
        ),
        "msgpack receive_data: small event": best_us(lambda: mp_conn.receive_data(mp_frame)),
        "msgpack encode_ack: small": best_us(lambda: mp.encode_ack("/", 21, ["ok"])),
        "recipients: 1000-sid room": best_us(lambda: rooms.recipients("/", "room"), 2000),
        "recipients: 1000-sid room, skip one": best_us(
            lambda: rooms.recipients("/", "room", "sid500"), 2000
        ),
    }


@pytest.mark.skipif(os.environ.get("PROTOCOL_PERF") != "1", reason="set PROTOCOL_PERF=1")
def test_hot_paths_stay_within_budget() -> None:
    results = measure()
    over = {name: us for name, us in results.items() if us > BUDGETS[name]}
    assert not over, over


if __name__ == "__main__":
    for name, us in measure().items():
        print(f"{name:42s} {us:6.2f} us  (budget {BUDGETS[name]:.1f})")
