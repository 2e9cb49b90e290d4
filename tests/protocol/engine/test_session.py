from __future__ import annotations

import json

import pytest

from sio_integrations.errors import RemoteProtocolError
from sio_integrations.protocol.engine.http import compress, cors_headers, sid_cookie
from sio_integrations.protocol.engine.requests import RequestError
from sio_integrations.protocol.engine.session import (
    Heartbeat,
    PollMode,
    Session,
    UpgradeState,
    open_frame,
    to_ms,
)


def new(transport: str = "polling", now: float = 100.0) -> Session:
    return Session("sid", transport=transport, now=now, ping_interval=25, ping_timeout=20,
                   upgrade_timeout=10)


def test_open_frame_keeps_sub_second_values() -> None:
    frame = open_frame(sid="s", upgrades=["websocket"], ping_interval=0.2, ping_timeout=0.25,
                       max_payload=5)
    assert frame[0] == "0"
    assert json.loads(frame[1:]) == {"sid": "s", "upgrades": ["websocket"],
                                     "pingInterval": 200, "pingTimeout": 250, "maxPayload": 5}
    assert (to_ms(25), to_ms(0.2), to_ms(1.0005)) == (25000, 200, 1000)


def test_heartbeat_cycle() -> None:
    s = new()
    assert s.heartbeat(124.9) is Heartbeat.IDLE
    assert s.next_deadline() == 125
    assert s.heartbeat(125) is Heartbeat.PING
    assert s.next_deadline() == 145
    assert s.heartbeat(130) is Heartbeat.IDLE  # waiting for the pong
    s.on_pong(131)
    assert s.heartbeat(155.9) is Heartbeat.IDLE
    assert s.heartbeat(156) is Heartbeat.PING
    assert not s.timed_out(175.9)
    assert s.timed_out(176)
    assert s.heartbeat(176) is Heartbeat.TIMEOUT


def test_polling_requests() -> None:
    s = new()
    assert s.begin_poll() is PollMode.WAIT
    second = s.begin_poll()
    assert isinstance(second, RequestError) and second.close_session
    s.end_poll()
    assert s.begin_poll() is PollMode.WAIT
    assert s.begin_post() is None
    overlap = s.begin_post()
    assert isinstance(overlap, RequestError) and overlap.close_session
    s.end_post()


def test_upgrade_flow() -> None:
    s = new()
    s.outbox.append("4queued")
    assert s.start_upgrade(now=100) is None
    assert s.upgrade is UpgradeState.PROBING
    assert isinstance(s.start_upgrade(now=100), RequestError)  # a second websocket
    s.on_probe()
    assert s.begin_poll() is PollMode.NOOP
    s.on_upgrade()
    assert (s.transport, s.upgrade, s.upgrade_deadline) == ("websocket", UpgradeState.UPGRADED,
                                                             None)
    assert s.take_outbox() == ["4queued"]
    assert isinstance(s.begin_poll(), RequestError)
    assert isinstance(s.begin_post(), RequestError)
    assert isinstance(s.start_upgrade(now=100), RequestError)


def test_upgrade_out_of_order_raises() -> None:
    s = new()
    with pytest.raises(RemoteProtocolError):
        s.on_probe()
    s.start_upgrade(now=100)
    with pytest.raises(RemoteProtocolError):
        s.on_upgrade()


def test_upgrade_abort_and_expiry() -> None:
    s = new()
    s.start_upgrade(now=100)
    assert not s.upgrade_expired(109.9) and s.upgrade_expired(110)
    assert s.next_deadline() == 110
    s.abort_upgrade()
    assert s.upgrade is UpgradeState.NONE and not s.upgrade_expired(1000)
    assert s.start_upgrade(now=200) is None  # may try again


def test_websocket_session_never_upgrades() -> None:
    s = new("websocket")
    assert s.upgrade is UpgradeState.UPGRADED
    assert isinstance(s.start_upgrade(now=0), RequestError)


def test_close_once() -> None:
    s = new()
    assert s.close("ping timeout")
    assert not s.close("server disconnect")
    assert s.close_reason == "ping timeout"
    assert s.heartbeat(10_000) is Heartbeat.IDLE


def test_cors_headers() -> None:
    assert cors_headers(origin=None, preflight=False, request_headers=None,
                        credentials=True) == []
    assert cors_headers(origin="http://a", preflight=True, request_headers="x-y",
                        credentials=True) == [
        ("Access-Control-Allow-Origin", "http://a"), ("Vary", "Origin"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "OPTIONS, GET, POST"),
        ("Access-Control-Allow-Headers", "x-y")]
    assert cors_headers(origin="http://a", preflight=False, request_headers=None,
                        credentials=True, disabled=True) == []


def test_compress() -> None:
    body = b"x" * 100
    assert compress(body, "gzip", 1000) == (body, None)
    assert compress(body, None, 10) == (body, None)
    assert compress(body, "br", 10) == (body, None)
    assert compress(body, "gzip;q=0, deflate", 10)[1] == "deflate"
    compressed, encoding = compress(body, "gzip, deflate", 10)
    assert encoding == "gzip" and len(compressed) < len(body)


def test_cookie() -> None:
    assert sid_cookie("s", None) is None
    assert sid_cookie("s", "io") == "io=s; path=/; SameSite=Lax"
    assert sid_cookie("s", {"name": "x", "Secure": True, "HttpOnly": False,
                            "Max-Age": lambda: "5"}) == "x=s; Secure; Max-Age=5"
