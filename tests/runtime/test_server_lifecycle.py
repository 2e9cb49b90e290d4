"""always_connect, stalled binary packets, connect timeout, shutdown and per-sid queries."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest
import socketio as reference  # python-socketio: test-only peer

import sio_integrations as sio_mod

from .live import run_asgi, run_wsgi, wait_until
from .test_bad_input import RawClient


def serve(kind: str, sio: Any) -> Any:
    if kind == "async":
        return run_asgi(sio_mod.ASGIApp(sio))
    return run_wsgi(sio_mod.WSGIApp(sio))


def make(kind: str, **options: Any) -> Any:
    if kind == "async":
        return sio_mod.AsyncServer(async_mode="asgi", **options)
    return sio_mod.Server(async_mode="threading", **options)


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_always_connect_then_refuse_sends_disconnect(kind: str) -> None:
    """With always_connect the client is connected before the handler runs; a refusal
    then arrives as a DISCONNECT, and events emitted by the handler were delivered."""
    sio = make(kind, always_connect=True)

    if kind == "async":
        async def connect(sid: str, environ: Any, auth: Any) -> bool:
            await sio.emit("welcome", "hi", to=sid)
            return bool(auth)
    else:
        def connect(sid: str, environ: Any, auth: Any) -> bool:  # type: ignore[misc]
            sio.emit("welcome", "hi", to=sid)
            return bool(auth)

    sio.on("connect", connect)
    with serve(kind, sio) as url:
        raw = RawClient(url, join=False)
        raw.ws.send("40")  # no auth: refused after being accepted
        assert raw.recv().startswith("40{")
        assert raw.recv() == '42["welcome","hi"]'
        assert raw.recv() == "41"


def test_half_received_binary_packet_is_dropped_after_binary_timeout(kind: str) -> None:
    sio = make(kind, binary_timeout=0.3)
    with serve(kind, sio) as url:
        stalled = RawClient(url)
        other = RawClient(url)
        stalled.ws.send('451-["upload",{"_placeholder":true,"num":0}]')
        assert stalled.closed()  # closed by the server within a few periods
        other.ws.send('421["nothing"]')
        assert other.recv() == "431[]"


def test_session_without_namespace_closed_after_connect_timeout(kind: str) -> None:
    sio = make(kind, connect_timeout=0.3)
    with serve(kind, sio) as url:
        idle = RawClient(url, join=False)
        assert idle.closed()


def test_transport_environ_and_shutdown(kind: str) -> None:
    sio = make(kind)
    seen: queue.Queue[Any] = queue.Queue()

    def whoami(sid: str) -> Any:
        environ = sio.get_environ(sid)
        return {"transport": sio.transport(sid), "method": environ["REQUEST_METHOD"],
                "remote": environ.get("REMOTE_ADDR")}

    sio.on("whoami", whoami)
    sio.on("disconnect", lambda sid, reason: seen.put(reason))
    with serve(kind, sio) as url:
        c = reference.Client()
        c.connect(url, transports=["websocket"])
        assert c.call("whoami", timeout=5) == {"transport": "websocket", "method": "GET",
                                                "remote": "127.0.0.1"}
        if kind == "async":
            # shutdown must run on the server's event loop (uvicorn's, in another thread)
            done = threading.Event()

            async def stop() -> None:
                await sio.shutdown()
                done.set()

            sio.on("stop", lambda sid: sio.start_background_task(stop))
            c.emit("stop")
            assert done.wait(10)
        else:
            sio.shutdown()
        assert seen.get(timeout=5) == "server shutting down"
        wait_until(lambda: not c.connected, 10, "client to be disconnected")
