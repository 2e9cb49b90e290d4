"""CORS headers on the core servers: never a reflected stranger, never "*" with credentials."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Warnings

HANDSHAKE = "EIO=4&transport=polling"


@pytest.mark.parametrize("policy", [None, "https://app.example", ["https://app.example"]])
def test_foreign_origin_gets_no_cors_grant(make_live: Any, warnings: Warnings,
                                           policy: Any) -> None:
    live = make_live(cors_allowed_origins=policy)
    for origin in ("https://evil.example", "null", "https://app.example.evil.example"):
        r = live.http("GET", HANDSHAKE, headers={"Origin": origin})
        assert r.error_code() == 4
        assert "access-control-allow-origin" not in r.headers
        assert "access-control-allow-credentials" not in r.headers
        pre = live.http("OPTIONS", HANDSHAKE, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
    assert len(warnings.records()) == 6
    if policy is not None:
        ok = live.http("GET", HANDSHAKE, headers={"Origin": "https://app.example"})
        assert ok.status == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in ok.headers["vary"]


@pytest.mark.parametrize("policy", ["*", ["*"]])
def test_any_origin_never_comes_with_credentials(make_live: Any, policy: Any) -> None:
    live = make_live(cors_allowed_origins=policy, cors_credentials=True)
    r = live.http("GET", HANDSHAKE, headers={"Origin": "https://anyone.example"})
    assert r.status == 200
    assert r.headers.get("access-control-allow-origin") in ("*", "https://anyone.example")
    assert "access-control-allow-credentials" not in r.headers
    pre = live.http("OPTIONS", HANDSHAKE, headers={
        "Origin": "https://anyone.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-credentials" not in pre.headers
