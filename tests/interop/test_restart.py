"""The JS client reconnects by itself when the server is restarted under it."""

from __future__ import annotations

import socket
import sys
import time

import pytest
import socketio as peer  # python-socketio's client: counts the server's connections

from tests.interop.harness import (
    IMPL,
    SERVERS,
    TRANSPORTS,
    ServerProcess,
    child_env,
    finish_js,
    scenario_result,
    start_js,
)

pytestmark = pytest.mark.timeout(90)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(mode: str, port: int) -> ServerProcess:
    argv = [sys.executable, str(SERVERS / "run_server.py"), mode, IMPL]
    return ServerProcess(f"restart-{mode}", argv, env=child_env(SIO_PORT=str(port)))


def wait_for_connects(url: str, count: int, transport: str) -> None:
    """Until ``count`` sockets (the observer's included) are connected and, for the
    ``upgrade`` transport, upgraded: the scenario waits for its first engine's upgrade, which
    never completes if the server is stopped between "2probe" and "5"."""
    counter = "websocket_count" if transport == "upgrade" else "connect_count"
    observer = peer.Client(reconnection=False)
    observer.connect(url, transports=["websocket"], wait_timeout=10)
    try:
        deadline = time.monotonic() + 15
        while observer.call(counter, timeout=10) < count:
            assert time.monotonic() < deadline, "the JS client never connected"
            time.sleep(0.05)
    finally:
        observer.disconnect()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", ["asgi", "threading"])
def test_client_reconnects_after_server_restart(node: str, mode: str, transport: str) -> None:
    port = free_port()
    first = start(mode, port)
    proc = start_js(node, first.url, transport, ["reconnect"])
    second = None
    try:
        wait_for_connects(first.url, 2, transport)  # the JS client and the observer
        first.stop()
        second = start(mode, port)
        r = scenario_result(finish_js(proc), "reconnect", second)
    finally:
        proc.kill()
        first.stop()
        if second is not None:
            second.stop()
    assert r["reason"] in ("transport close", "transport error")
    assert r["attempts"] >= 1
    assert r["second_id"] != r["first_id"]
    assert r["who"]["sid"] == r["second_id"]
    assert r["who"]["transport"] == ("polling" if transport == "polling" else "websocket")
