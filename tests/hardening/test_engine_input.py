"""Hostile Engine.IO handshakes and long-polling requests, as raw HTTP bytes.

Each case: (a) a 400 with the JSON error body, (b) one WARNING line with the reason (and
the sid when the request named one), no traceback, (c) answered within the budget,
(d) the bystander's echo still works.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest
import websocket

from tests.runtime.test_bad_input import RawClient

from .conftest import BUDGET, Live, Warnings, assert_echo


@pytest.mark.parametrize(("query", "code", "reason"), [
    ("transport=polling", 5, "EIO=None"),
    ("EIO=3&transport=polling", 5, "EIO='3'"),
    ("EIO=abc&transport=polling", 5, "EIO='abc'"),
    ("EIO=4", 0, "unknown transport None"),
    ("EIO=4&transport=__proto__", 0, "'__proto__'"),
    ("EIO=4&transport=constructor", 0, "'constructor'"),
    ("EIO=4&transport=hasOwnProperty", 0, "'hasOwnProperty'"),
    ("EIO=4&transport=toString", 0, "'toString'"),
    ("EIO=4&transport=flashsocket", 0, "'flashsocket'"),
    ("EIO=4&transport=polling&j=0", 3, "JSONP"),
    ("EIO=4&transport=polling&sid=" + "x" * 500, 1, "malformed session id"),
    ("EIO=4&transport=polling&sid=%00%01", 1, "malformed session id"),
])
def test_bad_handshake_queries(live: Live, bystander: RawClient, warnings: Warnings,
                               query: str, code: int, reason: str) -> None:
    assert live.http("GET", query).error_code() == code
    warnings.assert_one("refused", reason)
    assert_echo(bystander)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_handshake_with_a_method_other_than_get(live: Live, bystander: RawClient,
                                                warnings: Warnings, method: str) -> None:
    assert live.http(method, "EIO=4&transport=polling", b"").error_code() == 2
    warnings.assert_one("refused", method)
    assert_echo(bystander)


def test_forged_sid(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    forged = "AAAAAAAAAAAAAAAAAAAA"
    assert live.poll(forged).error_code() == 1
    warnings.assert_one("unknown session id", forged)
    assert_echo(bystander)


def test_sid_of_a_closed_session(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    sid = live.handshake()
    assert live.post(sid, b"1").body == b"ok"  # the client closes
    assert live.poll(sid).error_code() == 1
    assert live.post(sid, b"40").error_code() == 1
    records = warnings.wait(2)
    assert len(records) == 2 and all(sid in r.getMessage() for r in records)
    assert all(r.exc_info is None for r in records)
    assert_echo(bystander)


def test_polling_for_a_websocket_session(live: Live, bystander: RawClient,
                                         warnings: Warnings) -> None:
    """HTTP requests for a sid whose transport is a websocket: refused, websocket intact."""
    ws = websocket.create_connection(live.ws_url(), timeout=5)
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("40")
    assert ws.recv().startswith("40{")
    assert live.poll(sid).error_code() == 3
    assert live.post(sid, b"42[\"echo\",1]").error_code() == 3
    records = warnings.wait(2)
    assert len(records) == 2 and all(sid in r.getMessage() and "after the websocket"
                                     in r.getMessage() for r in records)
    ws.send('421["echo","intact"]')
    assert ws.recv() == '431["intact"]'
    ws.close()
    assert_echo(bystander)


def test_duplicate_concurrent_long_polls(live: Live, bystander: RawClient,
                                         warnings: Warnings) -> None:
    sid = live.handshake()
    first: list[Any] = []
    waiting = threading.Thread(target=lambda: first.append(live.poll(sid, timeout=5)))
    waiting.start()
    time.sleep(0.1)  # give the first GET time to start waiting (no event to wait on)
    second = live.poll(sid)
    assert second.error_code() == 3
    waiting.join(BUDGET * 2)
    assert first and first[0].status == 200  # the waiting GET is answered too
    assert first[0].body in (b"1", b"6")
    warnings.assert_one("overlapping long-polling GET", sid)
    assert live.poll(sid).error_code() == 1  # the session is gone
    assert_echo(bystander)


@pytest.mark.parametrize("body", [
    b"abc",  # unknown packet type
    b"4ok\x1eXYZ",  # second packet of unknown type
    b"bnot-base64!",  # bad base64 binary
    b"0{}",  # OPEN from a client
    b"4\xff\xfe\xfd",  # invalid UTF-8
    b"\x1e\x1e\x1e",  # empty packets
    b"",  # empty body
], ids=["type", "second", "base64", "open", "utf8", "separators", "empty"])
def test_malformed_polling_payloads(live: Live, bystander: RawClient, warnings: Warnings,
                                    body: bytes) -> None:
    sid = live.handshake()
    assert live.post(sid, body).error_code() == 3
    warnings.assert_one(sid)
    assert live.poll(sid).error_code() == 1  # closed with "parse error"
    assert_echo(bystander)


def test_too_many_packets_in_one_payload(live: Live, bystander: RawClient,
                                         warnings: Warnings) -> None:
    sid = live.handshake()
    body = "\x1e".join(["6"] * 21).encode()  # max_payload_packets is 20 here
    assert live.post(sid, body).error_code() == 3
    warnings.assert_one(sid, "packets")
    assert_echo(bystander)


def test_payload_at_the_packet_limit_is_fine(live: Live, warnings: Warnings) -> None:
    sid = live.handshake()
    assert live.post(sid, "\x1e".join(["6"] * 20).encode()).body == b"ok"
    warnings.assert_none()


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png",
                                          "application/x-www-form-urlencoded"])
def test_wrong_content_type(live: Live, bystander: RawClient, warnings: Warnings,
                            content_type: str) -> None:
    """Content types are not checked (documented: clients send several); what decides is
    the body, so binary garbage under any content type is a 400, never a hung request."""
    sid = live.handshake()
    ok = live.post(sid, b"40", {"Content-Type": content_type})
    assert ok.status == 200 and ok.body == b"ok"
    bad = live.post(sid, b"\x00\x01\x02\xff", {"Content-Type": content_type})
    assert bad.error_code() == 3
    warnings.assert_one(sid, "bad payload")
    assert_echo(bystander)


def test_oversized_body_refused_before_it_is_sent(live: Live, bystander: RawClient,
                                                  warnings: Warnings) -> None:
    """Only the headers are sent: the 400 arrives without the server waiting for (or
    buffering) the declared 50 MB."""
    sid = live.handshake()
    head = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{live.port}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 50000000\r\n\r\n").encode()
    answer = live.raw(head)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'{"code":3,"message":"Bad request"}' in answer
    warnings.assert_one(sid, "max_http_buffer_size")
    assert live.poll(sid).error_code() == 1  # the session closed
    assert_echo(bystander)


def test_oversized_chunked_body_stops_at_the_limit(live: Live, bystander: RawClient,
                                                   warnings: Warnings) -> None:
    sid = live.handshake()
    chunk = b"4" + b"x" * 4095
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4))
    request = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{live.port}\r\nTransfer-Encoding: chunked\r\n\r\n"
               ).encode() + chunks  # 16 KiB sent, never terminated; the limit is 10 kB
    answer = live.raw(request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    warnings.assert_one(sid, "max_http_buffer_size")
    assert_echo(bystander)


def test_invalid_content_length(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    sid = live.handshake()
    request = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{live.port}\r\nContent-Length: -5\r\n\r\n").encode()
    answer = live.raw(request)
    # the host may refuse it itself (uvicorn's parser does); either way a 400, at once
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert len(warnings.records()) <= 1
    assert_echo(bystander)


def test_garbage_instead_of_http(live: Live, bystander: RawClient, warnings: Warnings) -> None:
    """Not HTTP at all: the host answers or closes; our code never sees it."""
    answer = live.raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n")
    # uvicorn answers a 400 or closes; werkzeug answers an HTTP/0.9-style error page
    assert b"400" in answer or answer == b"", answer[:200]
    warnings.assert_none()
    assert_echo(bystander)


def test_every_refused_post_is_answered(live: Live, bystander: RawClient,
                                        warnings: Warnings) -> None:
    """A burst of protocol-error POSTs: every one gets its answer within the budget."""
    start = time.monotonic()
    for i in range(30):
        r = live.post(f"nosuchsid{i}", b"4x")
        assert r.error_code() == 1
    assert time.monotonic() - start < 30 * BUDGET
    assert len(warnings.wait(30)) == 30
    assert_echo(bystander)


def test_slow_sender_is_cut_off(make_live: Any, warnings: Warnings) -> None:
    """A POST that declares 1000 bytes and sends 2: on asyncio hosts the request is
    answered 400 after ping_interval + ping_timeout and its session closed. A WSGI server
    reads the body in the request's thread; bounding that is the WSGI server's socket
    timeout (werkzeug has none), so there only the other clients are checked."""
    live = make_live(ping_interval=0.5, ping_timeout=0.5)
    sid = live.handshake()
    head = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{live.port}\r\nContent-Length: 1000\r\n\r\n40").encode()
    if live.kind == "asgi":
        answer = live.raw(head, timeout=1.0 + 2.0)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
        warnings.assert_one(sid, "not received in time")
        assert_echo(live.client())
    else:
        with socket.create_connection(("127.0.0.1", live.port), timeout=5) as stalled:
            stalled.sendall(head)
            assert_echo(live.client())
