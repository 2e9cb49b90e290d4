from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sio_integrations.protocol.engine.requests import (
    EngineRequest,
    ErrorCode,
    RequestError,
    RequestKind,
    check_content_length,
    classify_request,
    origin_allowed,
    parse_query,
)

BOTH = ("polling", "websocket")


def classify(method: str = "GET", websocket: bool = False, transports: tuple[str, ...] = BOTH,
             **query: str) -> EngineRequest | RequestError:
    return classify_request(method=method, query=query, websocket=websocket,
                            transports=transports)


def code(result: EngineRequest | RequestError) -> ErrorCode:
    assert isinstance(result, RequestError), result
    return result.code


def test_handshakes() -> None:
    assert classify(EIO="4", transport="polling") == EngineRequest(
        kind=RequestKind.HANDSHAKE, transport="polling")
    assert classify(EIO="4", transport="websocket", websocket=True) == EngineRequest(
        kind=RequestKind.HANDSHAKE, transport="websocket")


def test_session_requests() -> None:
    assert classify(EIO="4", transport="polling", sid="abc").kind is RequestKind.POLL
    assert classify("POST", EIO="4", transport="polling", sid="abc").kind is RequestKind.POST
    up = classify(EIO="4", transport="websocket", sid="abc", websocket=True)
    assert up == EngineRequest(kind=RequestKind.UPGRADE, transport="websocket", sid="abc")
    # EIO may be left out once a session exists (the JS server only checks it at handshake)
    assert classify(transport="polling", sid="abc").kind is RequestKind.POLL


def test_preflight_needs_nothing_else() -> None:
    assert classify("OPTIONS").kind is RequestKind.PREFLIGHT


@pytest.mark.parametrize("transport", [None, "abc", "constructor", "__proto__", "toString"])
def test_unknown_transport(transport: str | None) -> None:
    query = {"EIO": "4"} if transport is None else {"EIO": "4", "transport": transport}
    assert code(classify(**query)) is ErrorCode.UNKNOWN_TRANSPORT


def test_disabled_transport() -> None:
    assert code(classify(EIO="4", transport="polling", transports=("websocket",))) is (
        ErrorCode.UNKNOWN_TRANSPORT)


@pytest.mark.parametrize("eio", [None, "3", "abc", ""])
def test_protocol_version(eio: str | None) -> None:
    query = {"transport": "polling"} if eio is None else {"transport": "polling", "EIO": eio}
    assert code(classify(**query)) is ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    if eio is not None:
        assert code(classify(sid="x", **query)) is ErrorCode.UNSUPPORTED_PROTOCOL_VERSION


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_bad_handshake_method(method: str) -> None:
    assert code(classify(method, EIO="4", transport="polling")) is ErrorCode.BAD_HANDSHAKE_METHOD


def test_bad_requests() -> None:
    assert code(classify("PUT", EIO="4", transport="polling", sid="a")) is ErrorCode.BAD_REQUEST
    # websocket transport without a websocket request, and the other way round
    assert code(classify(EIO="4", transport="websocket")) is ErrorCode.BAD_REQUEST
    assert code(classify(EIO="4", transport="polling", websocket=True)) is ErrorCode.BAD_REQUEST
    assert code(classify(EIO="4", transport="polling", j="0")) is ErrorCode.BAD_REQUEST
    assert code(classify(EIO="4", transport="polling", sid="x" * 65)) is ErrorCode.UNKNOWN_SID
    assert code(classify(EIO="4", transport="polling", sid="")) is ErrorCode.UNKNOWN_SID


def test_error_body_is_the_js_servers() -> None:
    error = code(classify(EIO="4"))
    result = classify(EIO="4")
    assert isinstance(result, RequestError) and error is ErrorCode.UNKNOWN_TRANSPORT
    assert result.status == 400
    assert result.body() == b'{"code":0,"message":"Transport unknown"}'
    assert json.loads(result.body())["message"] == result.message


def test_parse_query_first_value_wins() -> None:
    assert parse_query("a=1&a=2&b=&c=x%20y") == {"a": "1", "b": "", "c": "x y"}


def _parse_qsl_first(query: str) -> dict[str, str]:
    expected: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        expected.setdefault(name, value)
    return expected


@pytest.mark.parametrize("query", [
    "", "&", "&&a=1&", "a", "a&b=2", "=x", "a==b", "a=1;b=2", "a+b=c+d", "%41=%42",
    "sid=%E2%82%AC&t=x", "bad=%zz%", "x=%C3", "EIO=4&transport=polling&sid=abc&t=OxKz1aB",
])
def test_parse_query_matches_parse_qsl(query: str) -> None:
    assert parse_query(query) == _parse_qsl_first(query)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab=&%+;2F0xé ", max_size=24))
def test_parse_query_matches_parse_qsl_on_any_input(query: str) -> None:
    assert parse_query(query) == _parse_qsl_first(query)


def test_content_length() -> None:
    assert check_content_length(None, 10) is None
    assert check_content_length("10", 10) is None
    too_big = check_content_length("11", 10)
    assert too_big is not None and too_big.close_session
    bad = check_content_length("x", 10)
    assert bad is not None and bad.code is ErrorCode.BAD_REQUEST
    assert check_content_length("-1", 10) is not None


def test_origin_same_host_by_default() -> None:
    assert origin_allowed(None, policy=None, host="h:1")
    assert origin_allowed("http://h:1", policy=None, host="h:1")
    assert origin_allowed("https://H:1", policy=None, host="h:1")
    assert not origin_allowed("http://h:2", policy=None, host="h:1")
    assert not origin_allowed("null", policy=None, host="h:1")
    assert not origin_allowed("http://x", policy=None, host=None)
    assert origin_allowed("https://pub", policy=None, host="h:1", forwarded_host="pub, other")


def test_origin_policies() -> None:
    assert origin_allowed("http://a", policy="*", host=None)
    assert origin_allowed("http://a", policy="http://a", host=None)
    assert not origin_allowed("http://b", policy="http://a", host=None)
    assert origin_allowed("http://b", policy=["http://a", "http://b"], host=None)
    assert origin_allowed("http://b", policy=["*"], host=None)
    assert origin_allowed("http://b", policy=[], host=None)
    seen: list[object] = []
    assert origin_allowed("http://c", policy=lambda o, e: seen.append(e) or True, host=None,
                          environ={"k": 1})
    assert seen == [{"k": 1}]
    assert not origin_allowed("http://c", policy=lambda o: o == "http://d", host=None)
