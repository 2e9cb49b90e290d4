"""Engine HTTP behaviour over real servers: CORS, preflight, compression, cookie."""

from __future__ import annotations

import gzip
import json
import zlib
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


def _get(running: Running, **headers: str) -> requests.Response:
    return requests.get(running.url, params=Q, headers=headers, timeout=5)


def test_same_origin_by_default(server: Running) -> None:
    r = _get(server)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    own = f"http://127.0.0.1:{server.port}"
    r = _get(server, Origin=own)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == own
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    r = _get(server, Origin="http://evil.example")
    assert r.status_code == 400 and r.json()["code"] == 4
    assert "Access-Control-Allow-Origin" not in r.headers
    with pytest.raises(websocket.WebSocketException):
        server.websocket(origin="http://evil.example").recv()


def test_forwarded_host_counts_as_same_origin(server: Running) -> None:
    r = _get(server, Origin="https://public.example", **{"X-Forwarded-Host": "public.example"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "policy",
    ["*", "http://ok.example", ["http://a.example", "http://ok.example"],
     lambda origin, environ: origin.endswith("ok.example") and "REQUEST_METHOD" in environ,
     lambda origin: origin == "http://ok.example"],
)
def test_allowed_origins(make_server: Any, policy: Any) -> None:
    running = make_server(cors_allowed_origins=policy)
    r = _get(running, Origin="http://ok.example")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    if policy != "*":
        assert _get(running, Origin="http://bad.example").status_code == 400
    ws = running.websocket(origin="http://ok.example")
    assert ws.recv().startswith("0")
    ws.close()


def test_cors_disabled_with_empty_list(make_server: Any) -> None:
    running = make_server(cors_allowed_origins=[])
    r = _get(running, Origin="http://anything.example")
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_no_credentials_header_when_disabled(make_server: Any) -> None:
    running = make_server(cors_allowed_origins="*", cors_credentials=False)
    r = _get(running, Origin="http://x.example")
    assert "Access-Control-Allow-Credentials" not in r.headers


def test_preflight(make_server: Any) -> None:
    running = make_server(cors_allowed_origins="http://ok.example")
    r = requests.options(running.url, params=Q, timeout=5, headers={
        "Origin": "http://ok.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert r.headers["Access-Control-Allow-Methods"] == "OPTIONS, GET, POST"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type"
    r = requests.options(running.url, params=Q, timeout=5,
                         headers={"Origin": "http://bad.example"})
    assert r.status_code == 400


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compression_above_threshold(make_server: Any, encoding: str) -> None:
    running = make_server(compression_threshold=100)
    sid, _ = running.handshake()
    big = "x" * 500
    running.post(sid, "4" + big)
    r = requests.get(running.url, params={**Q, "sid": sid}, timeout=5, stream=True,
                     headers={"Accept-Encoding": encoding})
    assert r.headers["Content-Encoding"] == encoding
    raw = r.raw.read()
    body = gzip.decompress(raw) if encoding == "gzip" else zlib.decompress(raw)
    assert body == b"4" + big.encode()
    running.post(sid, "4small")
    r = requests.get(running.url, params={**Q, "sid": sid}, timeout=5,
                     headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in r.headers and r.text == "4small"


def test_compression_disabled(make_server: Any) -> None:
    running = make_server(compression_threshold=10, http_compression=False)
    sid, _ = running.handshake()
    running.post(sid, "4" + "y" * 100)
    r = running.poll(sid, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [("io", "io={sid}; path=/; SameSite=Lax"),
     ({"name": "eio", "path": "/chat", "HttpOnly": True, "Max-Age": "60"},
      "eio={sid}; path=/chat; HttpOnly; Max-Age=60")],
)
def test_cookie(make_server: Any, cookie: Any, expected: str) -> None:
    running = make_server(cookie=cookie)
    r = _get(running)
    sid = json.loads(r.text[1:])["sid"]
    assert r.headers["Set-Cookie"] == expected.format(sid=sid)


def test_no_cookie_by_default(server: Running) -> None:
    assert "Set-Cookie" not in _get(server).headers


def test_one_warning_line_per_bad_request(server: Running,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="sio_integrations.engine")
    for query in ({"EIO": "4", "transport": "nope"}, {"EIO": "3", "transport": "polling"},
                  {**Q, "sid": "unknown"}):
        caplog.clear()
        assert requests.get(server.url, params=query, timeout=5).status_code == 400
        records = [r for r in caplog.records if r.name == "sio_integrations.engine"]
        assert len(records) == 1, records
        assert records[0].levelname == "WARNING" and records[0].exc_info is None
        assert "refused" in records[0].getMessage()
