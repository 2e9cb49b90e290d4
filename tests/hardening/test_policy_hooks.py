"""Flood-control hook (``rate_limiter``) and connect-handler failures, on real servers."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import websocket

import sio_integrations as sio_mod
from sio_integrations.runtime.ratelimit import RateLimiter
from tests.runtime.live import wait_until

from .conftest import Warnings, assert_echo
from .test_socketio_input import Attacker


def test_connections_per_address_are_capped(make_live: Any, warnings: Warnings) -> None:
    limiter = RateLimiter(connections_per_ip=3, events_per_second=None)
    live = make_live(rate_limiter=limiter)
    bystander = live.client()
    first, _second = Attacker(live), Attacker(live)
    # the fourth from 127.0.0.1: refused before any Socket.IO state, on both transports
    assert live.http("GET", "EIO=4&transport=polling").error_code() == 4
    warnings.assert_one("too many connections")
    ws = websocket.create_connection(live.ws_url(), timeout=5)
    try:
        frames = [ws.recv()]  # the OPEN packet precedes the decision on websocket
        frames.append(ws.recv())
    except (websocket.WebSocketException, ConnectionError):
        pass
    assert not any(str(f).startswith("40") for f in frames[1:]), frames
    assert len(warnings.wait(2)) == 2
    assert all(r.exc_info is None for r in warnings.records())
    # a client leaving frees its place
    first.ws.close()
    wait_until(lambda: limiter._open.get("127.0.0.1") == 2, 5, "the count to drop")
    Attacker(live)
    assert_echo(bystander)


def test_events_per_socket_are_rate_limited(make_live: Any, warnings: Warnings) -> None:
    clock = [0.0]  # frozen time: the bucket never refills during the test
    limiter = RateLimiter(connections_per_ip=None, events_per_second=1, event_burst=5,
                          clock=lambda: clock[0])
    live = make_live(rate_limiter=limiter)
    flooder = Attacker(live)
    for i in range(20):
        flooder.send(f'42{i}["echo",{i}]')
    flooder.send('42999["tasks"]')  # over the limit too: never answered
    bystander = live.client()  # its own bucket
    assert_echo(bystander)
    flooder.ws.settimeout(1)
    answers = []
    try:
        while True:
            answers.append(flooder.ws.recv())
    except websocket.WebSocketTimeoutException:
        pass
    assert answers == [f"43{i}[{i}]" for i in range(5)]
    warnings.assert_one(flooder.sid, "rate limit")
    clock[0] += 10  # the bucket refills
    flooder.send('42100["echo","again"]')
    flooder.ws.settimeout(5)
    assert flooder.ws.recv() == '43100["again"]'
    flooder.ws.close()
    wait_until(lambda: flooder.io_sid not in limiter._buckets, 5, "the bucket to be dropped")


@pytest.mark.parametrize("failure", ["exception", "refusal"])
def test_connect_handler_failure_gives_a_generic_message(make_live: Any, warnings: Warnings,
                                                         caplog: pytest.LogCaptureFixture,
                                                         failure: str) -> None:
    live = make_live()

    def connect(sid: str, environ: Any, auth: Any) -> None:
        if failure == "exception":
            raise RuntimeError("database password is hunter2")
        raise sio_mod.exceptions.ConnectionRefusedError("not allowed")

    live.sio.on("connect", connect, namespace="/private")
    client = Attacker(live)
    client.send("40/private,")
    reply = client.ws.recv()
    assert reply.startswith("44/private,"), reply
    data = json.loads(reply[len("44/private,"):])
    if failure == "exception":
        assert data == {"message": "Connection rejected by server"}
        assert "hunter2" not in reply
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and errors[0].exc_info is not None  # the detail is in the log
        assert "hunter2" in str(errors[0].exc_info[1])
    else:
        assert data == {"message": "not allowed"}  # a deliberate refusal says what it says
        warnings.assert_none()
    client.send('421["echo","still here"]')  # the connection itself is unaffected
    assert client.ws.recv() == '431["still here"]'
