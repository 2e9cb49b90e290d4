"""``direct_websockets=False`` keeps every host's own websocket code (uvicorn, aiohttp,
werkzeug threads); a bad value fails at start-up naming the setting."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import socketio as reference  # python-socketio: the test peer

import sio_integrations as socketio
from sio_integrations.errors import ConfigurationError

from .direct_ws_support import serve, serve_aiohttp


def _echo_over_websocket(url: str) -> str:
    client = reference.Client(reconnection=False)
    try:
        client.connect(url, transports=["websocket"], wait_timeout=10)
        assert client.call("echo", "hi", timeout=10) == "hi"
        return str(client.get_sid())
    finally:
        client.disconnect()


def _direct(sio: Any, sid: str) -> Any:
    return sio.eio._clients[sio.manager.eio_sid_from_sid(sid, "/")].direct


@pytest.mark.parametrize("host", ["uvicorn", "aiohttp"])
@pytest.mark.parametrize("direct", [True, False])
def test_async_hosts(host: str, direct: bool) -> None:
    server = serve if host == "uvicorn" else serve_aiohttp
    seen: list[Any] = []
    with server({"direct_websockets": direct}) as running:
        @running.sio.on("probe")  # type: ignore[untyped-decorator]
        async def probe(sid: str) -> bool:
            seen.append(_direct(running.sio, sid) is not None)
            return True

        client = reference.Client(reconnection=False)
        client.connect(running.url, transports=["websocket"], wait_timeout=10)
        try:
            assert client.call("echo", "hi", timeout=10) == "hi"
            assert client.call("probe", timeout=10) is True
        finally:
            client.disconnect()
    assert seen == [direct]


@pytest.mark.parametrize("direct", [True, False])
def test_threading_on_werkzeug(direct: bool) -> None:
    from werkzeug.serving import make_server

    sio = socketio.Server(async_mode="threading", direct_websockets=direct)
    seen: list[bool] = []

    @sio.event  # type: ignore[untyped-decorator]
    def echo(sid: str, data: Any) -> Any:
        seen.append(_direct(sio, sid) is not None)
        return data

    server = make_server("127.0.0.1", 0, socketio.WSGIApp(sio), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _echo_over_websocket(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert seen == [direct]


@pytest.mark.parametrize("cls", [socketio.Server, socketio.AsyncServer])
def test_bad_value_names_the_setting(cls: Any) -> None:
    with pytest.raises(ConfigurationError, match="direct_websockets"):
        cls(direct_websockets="no")
