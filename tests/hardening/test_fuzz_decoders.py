"""Property tests and a fuzz target for the Engine.IO side of the decoders.

tests/protocol/test_properties.py already covers the Socket.IO decoders (default and
msgpack) with hypothesis; this adds what was missing: Engine.IO frames and polling payloads,
request classification (query strings, methods, sids), Content-Length, Origin policy and
Accept-Encoding, plus the Socket.IO decoders fed *bytes-level* junk through the same
entry point the runtime uses. Every input either decodes or raises RemoteProtocolError.

``python -m tests.hardening.test_fuzz_decoders [seconds]`` runs :func:`fuzz_one` on random
inputs for a while (a target for atheris or any byte fuzzer, too).
"""

from __future__ import annotations

import random
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sio_integrations.errors import RemoteProtocolError
from sio_integrations.protocol import ServerConnection, get_serializer
from sio_integrations.protocol.engine import http as eio_http
from sio_integrations.protocol.engine.packets import decode_frame, decode_payload
from sio_integrations.protocol.engine.requests import (
    EngineRequest,
    RequestError,
    check_content_length,
    classify_request,
    origin_allowed,
    parse_query,
)

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
SERIALIZER = get_serializer("default", max_attachments=10)

# text near the protocol's alphabet finds more than uniform junk
protocolish = st.text(alphabet=st.sampled_from(
    list("0123456789-/,[]{}\":bx\x1e\\ ") + ["\x00", "\udfff", "é", "\u2028"]), max_size=80)
junk_text = st.text(max_size=200) | protocolish
junk = junk_text | st.binary(max_size=200)


def _decode_payload_body(raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # the runtime answers 400 for this itself
    decode_payload(text, max_packets=20)


def fuzz_one(data: bytes) -> None:
    """One fuzz input: every decoder entry point, only RemoteProtocolError allowed."""
    for call in (
        lambda: decode_frame(data),
        lambda: decode_frame(data.decode("latin-1")),
        lambda: _decode_payload_body(data),
        lambda: ServerConnection(SERIALIZER).receive_data(data.decode("latin-1")),
        lambda: ServerConnection(SERIALIZER).receive_data(data),
    ):
        try:
            call()
        except RemoteProtocolError:
            pass


@FAST
@given(junk)
def test_engine_frames_decode_or_raise_protocol_errors(frame: str | bytes) -> None:
    try:
        decode_frame(frame)
    except RemoteProtocolError:
        pass


@FAST
@given(junk_text, st.integers(min_value=1, max_value=50))
def test_payloads_decode_or_raise_protocol_errors(body: str, limit: int) -> None:
    try:
        packets = decode_payload(body, max_packets=limit)
    except RemoteProtocolError:
        return
    assert len(packets) <= limit


@FAST
@given(st.dictionaries(st.sampled_from(["EIO", "transport", "sid", "j", "b64", "t"]) | st.text(
    max_size=10), junk_text, max_size=6), st.sampled_from(
    ["GET", "POST", "PUT", "OPTIONS", "DELETE", "get", "", "\x00"]), st.booleans())
def test_any_request_is_classified(query: dict[str, str], method: str, ws: bool) -> None:
    result = classify_request(method=method, query=query, websocket=ws,
                              transports=("polling", "websocket"))
    assert isinstance(result, (EngineRequest, RequestError))
    if isinstance(result, RequestError):
        assert result.status in (400, 403, 503) and result.body()


@FAST
@given(junk_text)
def test_any_query_string_parses(query: str) -> None:
    assert isinstance(parse_query(query), dict)


@FAST
@given(st.none() | junk_text, st.integers(min_value=1, max_value=10**9))
def test_any_content_length_is_judged(value: str | None, limit: int) -> None:
    result = check_content_length(value, limit)
    assert result is None or isinstance(result, RequestError)


@FAST
@given(st.none() | junk_text, st.none() | junk_text, st.none() | junk_text,
       st.sampled_from([None, "*", [], ["https://a.example"], "https://a.example"]))
def test_origin_policy_never_raises_and_never_trusts_junk(
        origin: str | None, host: str | None, forwarded: str | None, policy: object) -> None:
    allowed = origin_allowed(origin, policy=policy, host=host, forwarded_host=forwarded)
    if policy in ([], "*") or origin is None:
        assert allowed
    elif isinstance(policy, list):
        assert allowed == (origin in policy)
    # with policy None a junk origin is allowed only if its netloc equals a host we were given


@FAST
@given(st.none() | junk_text, st.binary(max_size=3000), st.integers(0, 2000))
def test_compression_never_raises(accept: str | None, body: bytes, threshold: int) -> None:
    out, encoding = eio_http.compress(body, accept, threshold)
    assert encoding in (None, "gzip", "deflate")
    if encoding is None:
        assert out == body


@FAST
@given(st.lists(junk, max_size=6))
def test_socketio_connection_survives_any_frame_stream(frames: list[str | bytes]) -> None:
    conn = ServerConnection(SERIALIZER)
    for frame in frames:
        try:
            conn.receive_data(frame)
        except RemoteProtocolError as exc:
            if exc.fatal:
                return


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_target(data: bytes) -> None:
    fuzz_one(data)


if __name__ == "__main__":  # pragma: no cover - a manual fuzzing session
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    rng = random.Random()
    end, count = time.monotonic() + seconds, 0
    alphabet = b'0123456789-/,[]{}":bx\x1e\\ \xff\x00'
    while time.monotonic() < end:
        size = rng.randrange(0, 400)
        if rng.random() < 0.5:
            data = bytes(rng.choice(alphabet) for _ in range(size))
        else:
            data = rng.randbytes(size)
        fuzz_one(data)
        count += 1
    print(f"{count} inputs, no unexpected exception")
