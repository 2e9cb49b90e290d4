"""Engine.IO v4 conformance over real servers (uvicorn/asgi, aiohttp, werkzeug threads).

Written against the behaviour the official engine.io-protocol test suite checks (our own
tests), with raw HTTP and raw websockets so the exact bytes are checked.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
import websocket

from . import test_engine_harness as harness
from .test_engine_harness import Running

# the harness fixtures, used by name below
make_server = harness.make_server
server = harness.server

Q = {"EIO": "4", "transport": "polling"}


def _error(r: requests.Response) -> int:
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"code", "message"}
    return int(body["code"])


# -- handshake --------------------------------------------------------------------------
def test_polling_handshake(server: Running) -> None:
    r = requests.get(server.url, params=Q, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert r.text[0] == "0"
    info = json.loads(r.text[1:])
    assert sorted(info) == ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]
    assert isinstance(info["sid"], str) and info["sid"]
    assert info["upgrades"] == ["websocket"]
    assert info["pingInterval"] == 300  # sub-second values are kept
    assert info["pingTimeout"] == 200
    assert info["maxPayload"] == 1_000_000


def test_websocket_handshake_lists_no_upgrades(server: Running) -> None:
    ws = server.websocket()
    info = json.loads(ws.recv()[1:])
    assert info["upgrades"] == []
    assert info["pingInterval"] == 300
    ws.close()


def test_no_upgrades_when_disabled(make_server: Any) -> None:
    running = make_server(allow_upgrades=False, ping_interval=0.25, ping_interval_grace=0.05)
    sid, info = running.handshake()
    assert info["upgrades"] == []
    assert info["pingInterval"] == 300  # interval + grace, as python-engineio advertises
    with pytest.raises(websocket.WebSocketException):
        running.websocket(f"EIO=4&transport=websocket&sid={sid}").recv()


def test_websocket_only_server(make_server: Any) -> None:
    running = make_server(transports=["websocket"])
    assert _error(requests.get(running.url, params=Q, timeout=5)) == 0
    ws = running.websocket()
    assert json.loads(ws.recv()[1:])["upgrades"] == []
    ws.close()


@pytest.mark.parametrize("query", [{"transport": "polling"}, {"EIO": "abc", "transport": "polling"},
                                   {"EIO": "3", "transport": "polling"}])
def test_bad_protocol_version(server: Running, query: dict[str, str]) -> None:
    assert _error(requests.get(server.url, params=query, timeout=5)) == 5


@pytest.mark.parametrize("transport", [None, "abc", "constructor", "__proto__", "POLLING"])
def test_unknown_transport(server: Running, transport: str | None) -> None:
    query = {"EIO": "4"} if transport is None else {"EIO": "4", "transport": transport}
    r = requests.get(server.url, params=query, timeout=5)
    assert _error(r) == 0
    assert r.json()["message"] == "Transport unknown"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_bad_handshake_method(server: Running, method: str) -> None:
    assert _error(requests.request(method, server.url, params=Q, timeout=5)) == 2


def test_unknown_sid_and_bad_method_with_sid(server: Running) -> None:
    assert _error(server.poll("nope")) == 1
    assert _error(server.post("nope", "4x")) == 1
    sid, _ = server.handshake()
    r = requests.put(server.url, params={**Q, "sid": sid}, data="4x", timeout=5)
    assert _error(r) == 3


@pytest.mark.parametrize("query", ["transport=websocket", "EIO=abc&transport=websocket",
                                   "EIO=4", "EIO=4&transport=abc", "EIO=4&transport=polling"])
def test_websocket_refused_on_bad_query(server: Running, query: str) -> None:
    with pytest.raises(websocket.WebSocketException) as info:
        ws = server.websocket(query)
        ws.recv()  # a server that accepted would send the open packet
    if server.mode == "uvicorn":  # refused with the Engine.IO error response
        assert isinstance(info.value, websocket.WebSocketBadStatusException)
        assert info.value.status_code == 400
        assert json.loads(info.value.resp_body)["code"] in (0, 3, 5)


# -- messages over long polling ---------------------------------------------------------
def test_polling_text_messages(server: Running) -> None:
    sid, _ = server.handshake()
    r = server.post(sid, "4hello")
    assert (r.status_code, r.text) == (200, "ok")
    assert r.headers["Content-Type"].startswith("text/html")
    assert server.poll(sid).text == "4hello"
    assert server.post(sid, "4test1\x1e4test2\x1e4test3").text == "ok"
    assert server.poll(sid).text == "4test1\x1e4test2\x1e4test3"


def test_polling_binary_messages(server: Running) -> None:
    sid, _ = server.handshake()
    assert server.post(sid, "4hello\x1ebAQIDBA==").text == "ok"
    assert server.poll(sid).text == "4hello\x1ebAQIDBA=="
    messages = [e[2] for e in server.recorder.of("message", sid)]
    assert messages == ["hello", b"\x01\x02\x03\x04"]


def test_send_many_keeps_order_on_polling(server: Running) -> None:
    sid, _ = server.handshake()
    server.post(sid, "4many")
    assert server.poll(sid).text == "4one\x1ebAg==\x1e4three"


@pytest.mark.parametrize("body", ["abc", "4ok\x1eXYZ", "bnot-base64!", "0{}"])
def test_malformed_post_closes_session(server: Running, body: str) -> None:
    sid, _ = server.handshake()
    r = server.post(sid, body)
    assert _error(r) == 3
    assert _error(server.poll(sid)) == 1
    assert server.recorder.wait_disconnect(sid) == "parse error"


def test_duplicate_poll_closes_session(server: Running) -> None:
    sid, _ = server.handshake()
    first: list[requests.Response] = []
    waiter = threading.Thread(target=lambda: first.append(server.poll(sid)))
    waiter.start()
    time.sleep(0.05)  # let the first GET reach the server and wait there
    second = server.poll(sid)
    waiter.join(5)
    assert _error(second) == 3
    assert first[0].status_code == 200 and first[0].text == "1"
    assert _error(server.poll(sid)) == 1
    assert server.recorder.wait_disconnect(sid) == "transport error"


# -- messages over websocket ----------------------------------------------------------
def test_websocket_text_and_binary(server: Running) -> None:
    ws = server.websocket()
    ws.recv()
    ws.send("4hello")
    assert ws.recv() == "4hello"
    ws.send_binary(b"\x01\x02\x03\x04")
    opcode, data = ws.recv_data()
    assert (opcode, data) == (websocket.ABNF.OPCODE_BINARY, b"\x01\x02\x03\x04")
    ws.send("4many")
    assert [ws.recv(), ws.recv(), ws.recv()] == ["4one", b"\x02", "4three"]
    ws.close()


def _check_burst(received: list[str]) -> None:
    assert len(received) == harness.BURST * harness.BURST_SENDERS
    for i in range(harness.BURST_SENDERS):
        mine = [m for m in received if m.startswith(f"4t{i}-")]
        assert mine == [f"4t{i}-{n}" for n in range(harness.BURST)]  # FIFO per sender


def test_concurrent_senders_on_websocket(server: Running) -> None:
    ws = server.websocket()
    ws.recv()
    ws.send("4burst")
    received: list[str] = []
    while len(received) < harness.BURST * harness.BURST_SENDERS:
        frame = ws.recv()
        if frame != "2":
            received.append(frame)
        else:
            ws.send("3")
    _check_burst(received)
    ws.close()


def test_concurrent_senders_on_polling(server: Running) -> None:
    sid, _ = server.handshake()
    server.post(sid, "4burst")
    received: list[str] = []
    for _ in range(100):
        if len(received) >= harness.BURST * harness.BURST_SENDERS:
            break
        frames = server.poll(sid).text.split("\x1e")
        received.extend(f for f in frames if f not in ("2", "6"))
        if "2" in frames:
            server.post(sid, "3")
    _check_burst(received)


def test_flood_is_delivered_in_order_with_backpressure(server: Running) -> None:
    """More messages than the inbox holds, to a slow handler: the reader pauses instead of
    queueing without bound, and every message still arrives once, in order."""
    count = 600  # above the engine's inbox limit
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    for n in range(count):
        ws.send(f"4slow{n}")
    received: list[str] = []
    while len(received) < count:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        else:
            received.append(frame)
    assert received == [f"4slow{n}" for n in range(count)]
    messages = [e[2] for e in server.recorder.of("message", sid)]
    assert messages == [f"slow{n}" for n in range(count)]
    ws.close()


def test_websocket_base64_binary(server: Running) -> None:
    """Binary as "b<base64>" text frames (engine.io-client forceBase64): accepted on
    websocket, and sent that way to clients that ask with b64=1."""
    ws = server.websocket("EIO=4&transport=websocket&b64=1")
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("bAQIDBA==")
    assert ws.recv() == "bAQIDBA=="  # echoed as base64 text, not a binary frame
    ws.send("4many")
    assert [ws.recv(), ws.recv(), ws.recv()] == ["4one", "bAg==", "4three"]
    assert [e[2] for e in server.recorder.of("message", sid)][0] == b"\x01\x02\x03\x04"
    plain = server.websocket()
    plain.recv()
    plain.send("bAQI=")
    assert plain.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"\x01\x02")
    plain.send("b!!")
    plain_sid = [e[1] for e in server.recorder.of("connect")][-1]
    assert server.recorder.wait_disconnect(plain_sid) == "parse error"
    plain.close()  # aiohttp waits for the client's close frame before it lets go
    ws.close()


def test_websocket_bad_packet_closes(server: Running) -> None:
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("abc")
    assert server.recorder.wait_disconnect(sid) == "parse error"
    with pytest.raises(websocket.WebSocketException):
        for _ in range(5):  # a ping may still be in flight before the close
            if not ws.recv():
                raise websocket.WebSocketConnectionClosedException()


def test_websocket_message_over_max_size_closes(make_server: Any) -> None:
    running = make_server(max_http_buffer_size=100)
    ws = running.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("4" + "x" * 50)
    assert ws.recv() == "4" + "x" * 50
    ws.send("4" + "x" * 200)
    assert running.recorder.wait_disconnect(sid) == "transport error"
    ws.close()  # aiohttp waits for the client's close frame before it lets go


# -- body limits --------------------------------------------------------------------------
def test_post_over_max_size_by_content_length(make_server: Any) -> None:
    running = make_server(max_http_buffer_size=100)
    sid, _ = running.handshake()
    assert _error(running.post(sid, "4" + "x" * 200)) == 3
    assert running.recorder.wait_disconnect(sid) == "transport error"


def test_post_over_max_size_chunked(make_server: Any) -> None:
    running = make_server(max_http_buffer_size=100)
    sid, _ = running.handshake()

    def chunks() -> Any:
        for _ in range(10):
            yield b"4" + b"x" * 49

    assert _error(running.post(sid, chunks())) == 3  # type: ignore[arg-type]
    assert running.recorder.wait_disconnect(sid) == "transport error"


# -- heartbeat ------------------------------------------------------------------------------
def test_polling_heartbeat(server: Running) -> None:
    sid, _ = server.handshake()
    for _ in range(3):
        r = server.poll(sid)
        assert (r.status_code, r.text) == (200, "2")
        assert server.post(sid, "3").text == "ok"
    assert server.recorder.of("disconnect", sid) == []


def test_polling_ping_timeout(server: Running) -> None:
    sid, _ = server.handshake()
    time.sleep(0.55)
    r = server.poll(sid)
    assert r.status_code == 400 or r.text == "1"
    assert server.recorder.wait_disconnect(sid) == "ping timeout"


def test_websocket_heartbeat(server: Running) -> None:
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    for _ in range(3):
        assert ws.recv() == "2"
        ws.send("3")
    assert server.recorder.of("disconnect", sid) == []
    ws.close()


def test_websocket_ping_timeout(server: Running) -> None:
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    assert ws.recv() == "2"
    assert server.recorder.wait_disconnect(sid) == "ping timeout"
    assert ws.recv() == "1"  # the peer is told


# -- close --------------------------------------------------------------------------------
def test_polling_client_close(server: Running) -> None:
    sid, _ = server.handshake()
    result: list[requests.Response] = []
    waiter = threading.Thread(target=lambda: result.append(server.poll(sid)))
    waiter.start()
    time.sleep(0.05)
    assert server.post(sid, "1").text == "ok"
    waiter.join(5)
    assert result[0].text == "6"
    assert _error(server.poll(sid)) == 1
    assert server.recorder.wait_disconnect(sid) == "client disconnect"


def test_websocket_client_close(server: Running) -> None:
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("4last")
    ws.send("1")
    assert server.recorder.wait_disconnect(sid) == "client disconnect"
    events = [e[0] for e in server.recorder.events if e[1] == sid]
    assert events == ["connect", "message", "disconnect"]  # the message came first
    ws.close()


def test_server_close_on_websocket(server: Running) -> None:
    ws = server.websocket()
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("4close-me")
    assert ws.recv() == "1"
    assert server.recorder.wait_disconnect(sid) == "server disconnect"
    assert server.call("is_connected", sid) is False


def test_server_close_on_polling(server: Running) -> None:
    sid, _ = server.handshake()
    server.call("close", sid)
    assert server.poll(sid).status_code == 400
    assert server.recorder.wait_disconnect(sid) == "server disconnect"
    server.call("close", sid)  # unknown sid: ignored
    server.call("send", "unknown-sid", "x")


def test_shutdown_closes_sessions(server: Running) -> None:
    sid, _ = server.handshake()
    ws = server.websocket()
    ws_sid = json.loads(ws.recv()[1:])["sid"]
    server.call("shutdown")
    assert server.recorder.wait_disconnect(sid) == "server shutting down"
    assert server.recorder.wait_disconnect(ws_sid) == "server shutting down"


# -- upgrade --------------------------------------------------------------------------------
def _probe(server: Running, sid: str) -> Any:
    ws = server.websocket(f"EIO=4&transport=websocket&sid={sid}")
    ws.send("2probe")
    assert ws.recv() == "3probe"
    return ws


def test_upgrade(server: Running) -> None:
    sid, _ = server.handshake()
    ws = _probe(server, sid)
    r = server.poll(sid)
    assert (r.status_code, r.text) == (200, "6")
    ws.send("5")
    ws.send("4hello")
    assert ws.recv() == "4hello"
    assert server.call("transport", sid) == "websocket"


def test_upgrade_wakes_pending_poll_and_moves_outbox(server: Running) -> None:
    sid, _ = server.handshake()
    result: list[requests.Response] = []
    waiter = threading.Thread(target=lambda: result.append(server.poll(sid)))
    waiter.start()
    time.sleep(0.05)
    ws = _probe(server, sid)
    waiter.join(5)
    assert result[0].text == "6"
    server.call("send", sid, "queued during upgrade")
    ws.send("5")
    assert ws.recv() == "4queued during upgrade"


def test_no_http_after_upgrade(server: Running) -> None:
    sid, _ = server.handshake()
    ws = _probe(server, sid)
    ws.send("5")
    ws.send("4sync")
    assert ws.recv() == "4sync"
    assert _error(server.poll(sid)) == 3
    assert _error(server.post(sid, "4x")) == 3
    ws.send("4hello")
    assert ws.recv() == "4hello"


def test_second_websocket_refused(server: Running) -> None:
    sid, _ = server.handshake()
    ws = _probe(server, sid)
    ws.send("5")
    with pytest.raises(websocket.WebSocketException):
        other = server.websocket(f"EIO=4&transport=websocket&sid={sid}")
        other.recv()
    ws.send("4hello")
    assert ws.recv() == "4hello"
    ws_only = server.websocket()
    ws_only_sid = json.loads(ws_only.recv()[1:])["sid"]
    with pytest.raises(websocket.WebSocketException):
        other = server.websocket(f"EIO=4&transport=websocket&sid={ws_only_sid}")
        other.recv()


def test_failed_probe_leaves_polling_working(server: Running) -> None:
    sid, _ = server.handshake()
    ws = server.websocket(f"EIO=4&transport=websocket&sid={sid}")
    ws.send("4not a probe")
    time.sleep(0.05)
    assert server.post(sid, "4still polling").text == "ok"
    assert server.poll(sid).text == "4still polling"


# -- environ --------------------------------------------------------------------------------
def test_environ_has_real_client_address(server: Running) -> None:
    sid, _ = server.handshake()
    environ = server.call("environ", sid)
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    if server.mode == "uvicorn":
        assert environ["REMOTE_PORT"] != "0"
        assert environ["asgi.scope"]["type"] == "http"
    assert server.call("is_connected", sid) is True
    assert server.call("transport", sid) == "polling"
