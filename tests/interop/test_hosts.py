"""Smoke tests under process-managing hosts: Gunicorn (gthread, gevent, asgi) and Hypercorn.

The scenario app is loaded by the host itself from ``servers/hosted_app.py``;
a subset of the JS client scenarios runs over every transport at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.interop.harness import (
    SERVERS,
    TRANSPORTS,
    ServerProcess,
    child_env,
    run_js_many,
    scenario_result,
)

pytestmark = pytest.mark.timeout(90)

SCENARIOS = ["connect", "acks", "binary", "rooms", "disconnect"]
GUNICORN = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:0",
            "--no-control-socket", "--graceful-timeout", "2", "--chdir", str(SERVERS)]
GUNICORN_PORT = r"Listening at: http://127\.0\.0\.1:(\d+)"
HOSTS = {
    # one worker: long-polling needs every request of a session in the same process
    "gunicorn-gthread": (GUNICORN + ["-k", "gthread", "--threads", "32", "hosted_app:app"],
                         "threading", GUNICORN_PORT),
    "gunicorn-gevent": (GUNICORN + ["-k", "gevent", "hosted_app:app"], "gevent", GUNICORN_PORT),
    "gunicorn-asgi": (GUNICORN + ["-k", "asgi", "hosted_app:app"], "asgi", GUNICORN_PORT),
    "hypercorn": ([sys.executable, "-m", "hypercorn", "-b", "127.0.0.1:0", "hosted_app:app"],
                  "asgi", r"Running on http://127\.0\.0\.1:(\d+)"),
}


@pytest.fixture(scope="module", params=list(HOSTS))
def hosted(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    argv, mode, port_pattern = HOSTS[request.param]
    server = ServerProcess(request.param, argv, env=child_env(SIO_MODE=mode), cwd=SERVERS,
                           port_pattern=port_pattern, ready_pattern="APP LOADED")
    try:
        yield server
    finally:
        server.stop()


def test_js_scenarios_under_host(hosted: ServerProcess, node: str) -> None:
    server = hosted
    batches = run_js_many(node, [(server.url, t, SCENARIOS) for t in TRANSPORTS])
    for transport, results in zip(TRANSPORTS, batches, strict=True):
        connect = scenario_result(results, "connect", server)
        assert connect["who"]["sid"] == connect["id"], transport
        expected = "polling" if transport == "polling" else "websocket"
        assert connect["who"]["transport"] == expected, transport
        acks = scenario_result(results, "acks", server)
        assert acks["called"] == {"call_result": {"got": {"x": 1}, "from": "js"}}, transport
        assert acks["cb_result"] == ["r1", {"r2": ["A", 2]}], transport
        binary = scenario_result(results, "binary", server)
        assert binary["echoed"]["types"][1] == "bytes:4", transport
        assert binary["pushed"][0] == {"$bin": b"raw".hex()}, transport
        rooms = scenario_result(results, "rooms", server)
        assert rooms["got"] == {"a": ["m3"], "b": ["m1"], "c": ["m2"]}, transport
        disconnect = scenario_result(results, "disconnect", server)
        assert disconnect["client_reason"] == "io server disconnect", transport
    assert server.alive()
