"""``session_request``, the shortcut for a session's long-polling request, decides exactly
as ``classify_request`` for everything it accepts, and leaves everything else to it."""

from __future__ import annotations

import itertools

import pytest

from sio_integrations.protocol.engine.requests import (
    EngineRequest,
    RequestKind,
    classify_request,
    parse_query,
    session_request,
)

SID = "Abcdefghijklmnopqrst"
FIELDS = [
    "EIO=4", "EIO=3", "EIO=", "transport=polling", "transport=websocket", "transport=",
    f"sid={SID}", "sid=", "sid=" + "x" * 65, "sid=a\tb", "t=PdK3xYz", "j=0", "j", "",
    "sid=other", "EIO=4x", "b64=1", f"sid%3D{SID}", "transport=poll%69ng", "x=a+b",
]


def _queries() -> list[str]:
    queries = []
    for n in (1, 2, 3):
        for combo in itertools.permutations(FIELDS, n):
            queries.append("&".join(combo))
    return queries


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS", "PUT", "get"])
def test_same_decision_as_classify_request(method: str) -> None:
    accepted = 0
    for query in _queries():
        usual = session_request(method, query)
        full = classify_request(method=method, query=parse_query(query), websocket=False,
                                transports=("polling", "websocket"))
        if usual is None:
            # refused, a handshake, or an unusual form: the full classifier decides
            continue
        accepted += 1
        kind, sid = usual
        assert full == EngineRequest(kind=kind, transport="polling", sid=sid), query
    if method in ("GET", "POST"):
        assert accepted > 50  # the usual forms are taken
    else:
        assert accepted == 0


def test_the_usual_requests() -> None:
    assert session_request("GET", f"EIO=4&transport=polling&t=Pd3&sid={SID}") == (
        RequestKind.POLL, SID)
    assert session_request("POST", f"EIO=4&transport=polling&sid={SID}") == (
        RequestKind.POST, SID)
    assert session_request("GET", f"transport=polling&sid={SID}&sid=second") == (
        RequestKind.POLL, SID)  # the first value wins, as in parse_query
    assert session_request("GET", "EIO=4&transport=polling") is None  # a handshake
    assert session_request("GET", f"EIO=4&transport=websocket&sid={SID}") is None
