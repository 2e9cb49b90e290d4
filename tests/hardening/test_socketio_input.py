"""Hostile Socket.IO packets as raw websocket frames against a real server.

Each case: (a) the sender is closed (or gets CONNECT_ERROR), (b) one WARNING line with the
Engine.IO sid and the reason, no traceback, (d) the bystander still gets its echo. Cases the
older tests/runtime/test_bad_input.py covers are listed here again only where they add the
log and bystander checks.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from typing import Any

import pytest
import websocket

from tests.runtime.live import wait_until
from tests.runtime.test_bad_input import RawClient

from .conftest import Live, Warnings, assert_echo


class Attacker:
    """A websocket client that knows its Engine.IO sid."""

    def __init__(self, live: Live, join: bool = True) -> None:
        self.ws = websocket.create_connection(live.ws_url(), timeout=5)
        self.sid = json.loads(self.ws.recv()[1:])["sid"]
        self.io_sid = ""
        if join:
            self.ws.send("40")
            reply = self.ws.recv()
            assert reply.startswith("40{"), reply
            self.io_sid = json.loads(reply[2:])["sid"]

    def send(self, *frames: str | bytes) -> None:
        for data in frames:
            if isinstance(data, bytes):
                self.ws.send_binary(data)
            else:
                self.ws.send(data)

    def closed(self, timeout: float = 3.0) -> bool:
        """True when the server closes the connection within ``timeout``."""
        self.ws.settimeout(timeout)
        try:
            while True:
                data = self.ws.recv()
                if data == "" or data == "1":
                    return True
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True
        except websocket.WebSocketTimeoutException:
            return False


DEEP = "[" * 300 + "]" * 300

CLOSING = {
    # bad CONNECT payloads
    "connect-array": (['40["x"]'], "CONNECT data must be an object"),
    "connect-string": (['40"token"'], "CONNECT data must be an object"),
    "connect-bad-json": (["40{bad"], "invalid JSON"),
    "connect-number": (["40123"], "while it is connected"),  # "123" reads as an ack id
    # protocol violations
    "double-connect": (["40"], "while it is connected"),
    "event-unjoined-namespace": (['42/admin,["steal"]'], "'/admin'"),
    "ack-unjoined-namespace": (["43/admin,1[]"], "'/admin'"),
    "disconnect-unjoined": (["41/admin,"], "'/admin'"),
    "connect-error-from-client": (['44{"message":"x"}'], "ConnectError"),
    "unknown-type": (["49"], "unknown packet type"),
    "namespace-without-slash": (['42admin,["x"]'], "invalid JSON"),
    # event names
    "name-number": (['42[123,"x"]'], "event name"),
    "name-object": (['42[{"a":1}]'], "event name"),
    "name-null": (["42[null]"], "event name"),
    "no-name": (["42[]"], "non-empty array"),
    "not-a-list": (['42{"a":1}'], "non-empty array"),
    "reserved-connect": (['42["connect"]'], "reserved"),
    "reserved-disconnecting": (['42["disconnecting"]'], "reserved"),
    "reserved-newListener": (['42["newListener"]'], "reserved"),
    # numbers
    "float-overflow": (['421["echo",1e999]'], "invalid JSON"),
    "nan": (['421["echo",NaN]'], "invalid JSON"),
    "int-5000-digits": (['421["echo",' + "9" * 5000 + "]"], "invalid JSON"),
    "ack-id-overflow": (['42' + "9" * 30 + '["echo"]'], "packet id"),
    # nesting
    "nesting-300": (['421["echo",' + DEEP + "]"], "nested deeper"),
    "nesting-200k": (['421["echo",' + "[" * 4000 + "]" * 4000 + "]"], "invalid JSON"),
    # attachments
    "attachments-too-many": (['4511-["echo"]'], "too many attachments"),
    "attachments-count-huge": (['459999999-["echo"]'], "attachment count"),
    "attachment-index-out-of-range": (
        ['451-["echo",{"_placeholder":true,"num":5}]', b"\x01"], "placeholder"),
    "attachment-index-string": (
        ['451-["echo",{"_placeholder":true,"num":"0"}]', b"\x01"], "placeholder"),
    "attachment-then-text": (['451-["echo",{"_placeholder":true,"num":0}]', "42[\"x\"]"],
                             "awaiting binary"),
    "binary-without-packet": ([b"\x01\x02\x03"], "binary frame"),
}


@pytest.mark.parametrize("case", list(CLOSING))
def test_hostile_packet_closes_the_sender(live: Live, bystander: RawClient,
                                         warnings: Warnings, case: str) -> None:
    frames, reason = CLOSING[case]
    attacker = Attacker(live)
    attacker.send(*frames)
    assert attacker.closed()
    warnings.assert_one(attacker.sid, reason)
    assert_echo(bystander)


def test_unknown_namespace_gets_connect_error(live: Live, bystander: RawClient,
                                              warnings: Warnings) -> None:
    attacker = Attacker(live)
    attacker.send("40/nowhere,")
    assert attacker.ws.recv() == '44/nowhere,{"message":"Invalid namespace"}'
    attacker.send('421["echo","still connected"]')
    assert attacker.ws.recv() == '431["still connected"]'
    warnings.assert_none()  # a refusal is an answer, not an incident
    assert_echo(bystander)


def test_nesting_within_the_bound_is_echoed(live: Live, warnings: Warnings) -> None:
    client = Attacker(live)
    value = "[" * 200 + "]" * 200
    client.send(f'421["echo",{value}]')
    assert client.ws.recv() == f"431[{value}]"
    client.send('421["echo",9007199254740993,1.5e300,-1e-400]')
    assert client.ws.recv() == "431[9007199254740993,1.5e+300,-0.0]"
    warnings.assert_none()


def test_session_that_never_connects_is_closed(make_live: Any, warnings: Warnings) -> None:
    live = make_live(connect_timeout=0.3)
    bystander = live.client()
    idle = Attacker(live, join=False)
    start = time.monotonic()
    assert idle.closed(timeout=5)
    assert time.monotonic() - start < 0.3 + 2.0
    warnings.assert_one(idle.sid, "joined no namespace")
    assert_echo(bystander)


def test_binary_attachments_never_completed(make_live: Any, warnings: Warnings) -> None:
    live = make_live(binary_timeout=0.3)
    bystander = live.client()
    attacker = Attacker(live)
    attacker.send('452-["echo",{"_placeholder":true,"num":0},'
                  '{"_placeholder":true,"num":1}]', b"\x01")  # one of two
    assert attacker.closed(timeout=5)
    warnings.assert_one(attacker.sid, "not received in time")
    assert_echo(bystander)


def _internal_sizes(live: Live) -> dict[str, int]:
    sio = live.sio
    sizes = {
        "clients": len(sio._clients),
        "sockets": len(sio.manager.sockets),
        "rooms": len(sio.manager.rooms._rooms),
        "room_sids": len(sio.manager.rooms._sids),
        "engine_clients": len(sio.eio._clients),
    }
    for client in sio._clients.values():
        sizes["client_sockets"] = sizes.get("client_sockets", 0) + len(client.sockets)
        sizes["states"] = sizes.get("states", 0) + len(client.conn._states)
        sizes["left"] = max(sizes.get("left", 0), len(client.conn._left))
    return sizes


def _ask_namespaces(client: Attacker, start: int, count: int) -> None:
    # pipelined in bursts: the answers are read while the server works
    burst = 200
    for first in range(start, start + count, burst):
        names = [f"/ns{i}" for i in range(first, min(first + burst, start + count))]
        for name in names:
            client.ws.send(f"40{name},")
        for name in names:
            assert client.ws.recv() == f'44{name},{{"message":"Invalid namespace"}}'


def test_ten_thousand_unknown_namespaces_leave_no_growth(make_live: Any,
                                                         warnings: Warnings) -> None:
    live = make_live()  # its own server: nothing else connects or leaves meanwhile
    bystander = live.client()
    attacker = Attacker(live)
    _ask_namespaces(attacker, 0, 1000)  # warm up (caches, the bounded "left" list)
    gc.collect()
    sizes = _internal_sizes(live)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        _ask_namespaces(attacker, 1000, 10_000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert _internal_sizes(live) == sizes
    # 10,000 names of ~8 bytes would be well over 500 kB if any were kept
    assert after - before < 200_000, after - before
    warnings.assert_none()
    attacker.send('421["echo","after"]')
    assert attacker.ws.recv() == '431["after"]'
    assert_echo(bystander)
    attacker.ws.close()
    wait_until(lambda: _internal_sizes(live)["clients"] == sizes["clients"] - 1, 5,
               "the attacker's client to be forgotten")
