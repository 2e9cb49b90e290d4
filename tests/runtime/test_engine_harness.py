"""Real servers on 127.0.0.1 for the engine tests: uvicorn (asgi), aiohttp, werkzeug threads.

``engine_server(**options)`` (fixture ``make_engine_server``) starts an engine with a
recording, echoing handler and returns a :class:`Running` server. The tests in this
module check the harness itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sio_integrations.options import EngineOptions
from sio_integrations.runtime._async.engine import AsyncEngine
from sio_integrations.runtime._sync.engine import Engine
from sio_integrations.runtime.asgi import ASGIApp
from sio_integrations.runtime.wsgi import WSGIApp

MODES = ["uvicorn", "aiohttp", "threading"]
#: "burst": BURST_SENDERS concurrent senders (tasks or threads) send BURST messages each
BURST = 200
BURST_SENDERS = 4
PATH = "/engine.io/"


class Recorder:
    """Thread-safe list of handler calls: ("connect", sid, environ), ("message", sid, data),
    ("disconnect", sid, reason)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._cond = threading.Condition()

    def add(self, *event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[Any, ...]]], bool],
                 timeout: float = 5.0) -> list[tuple[Any, ...]]:
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.events), timeout)
            assert ok, f"condition not met in {timeout}s; events: {self.events!r}"
            return list(self.events)

    def of(self, kind: str, sid: str | None = None) -> list[tuple[Any, ...]]:
        with self._cond:
            return [e for e in self.events if e[0] == kind and (sid is None or e[1] == sid)]

    def wait_disconnect(self, sid: str, timeout: float = 5.0) -> str:
        self.wait_for(lambda ev: any(e[0] == "disconnect" and e[1] == sid for e in ev), timeout)
        reasons = [e[2] for e in self.of("disconnect", sid)]
        assert len(reasons) == 1, reasons
        return str(reasons[0])


class AsyncEcho:
    """Echoes every message; "close-me" makes the server close the session."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.engine: AsyncEngine

    async def engine_connect(self, sid: str, environ: dict[str, Any]) -> None:
        self.recorder.add("connect", sid, environ)

    async def engine_message(self, sid: str, data: str | bytes) -> None:
        self.recorder.add("message", sid, data)
        if data == "close-me":
            await self.engine.close(sid)
        elif data == "many":
            await self.engine.send_many(sid, ["one", b"\x02", "three"])
        elif isinstance(data, str) and data.startswith("slow"):
            await asyncio.sleep(0.001)
            await self.engine.send(sid, data)
        elif data == "burst":
            async def sender(i: int) -> None:
                for n in range(BURST):
                    await self.engine.send(sid, f"t{i}-{n}")
                    if n % 7 == 0:
                        await asyncio.sleep(0)

            await asyncio.gather(*(sender(i) for i in range(BURST_SENDERS)))
        else:
            await self.engine.send(sid, data)

    async def engine_disconnect(self, sid: str, reason: str) -> None:
        self.recorder.add("disconnect", sid, reason)


class SyncEcho:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.engine: Engine

    def engine_connect(self, sid: str, environ: dict[str, Any]) -> None:
        self.recorder.add("connect", sid, environ)

    def engine_message(self, sid: str, data: str | bytes) -> None:
        self.recorder.add("message", sid, data)
        if data == "close-me":
            self.engine.close(sid)
        elif data == "many":
            self.engine.send_many(sid, ["one", b"\x02", "three"])
        elif isinstance(data, str) and data.startswith("slow"):
            time.sleep(0.001)
            self.engine.send(sid, data)
        elif data == "burst":
            def sender(i: int) -> None:
                for n in range(BURST):
                    self.engine.send(sid, f"t{i}-{n}")

            threads = [threading.Thread(target=sender, args=(i,)) for i in range(BURST_SENDERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
        else:
            self.engine.send(sid, data)

    def engine_disconnect(self, sid: str, reason: str) -> None:
        self.recorder.add("disconnect", sid, reason)


class Running:
    def __init__(self, mode: str, port: int, engine: Any, recorder: Recorder,
                 loop: asyncio.AbstractEventLoop | None, stop: Callable[[], None]) -> None:
        self.mode = mode
        self.port = port
        self.engine = engine
        self.recorder = recorder
        self.loop = loop
        self._stop = stop
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + PATH
        self.ws_url = f"ws://127.0.0.1:{port}{PATH}"

    def call(self, method: str, *args: Any) -> Any:
        """Call an engine method from the test thread (on the server's loop when async)."""
        result = getattr(self.engine, method)(*args)
        if self.loop is not None and asyncio.iscoroutine(result):
            return asyncio.run_coroutine_threadsafe(result, self.loop).result(10)
        return result

    def stop(self) -> None:
        try:
            self.call("shutdown")
        finally:
            self._stop()

    # raw client helpers ---------------------------------------------------------------
    def handshake(self, **headers: str) -> tuple[str, dict[str, Any]]:
        import json

        r = requests.get(self.url, params={"EIO": "4", "transport": "polling"},
                         headers=headers, timeout=5)
        assert r.status_code == 200, r.text
        assert r.text.startswith("0")
        info = json.loads(r.text[1:])
        return str(info["sid"]), info

    def poll(self, sid: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url, params={"EIO": "4", "transport": "polling", "sid": sid},
                            timeout=5, **kwargs)

    def post(self, sid: str, body: str | bytes, **kwargs: Any) -> requests.Response:
        return requests.post(self.url, params={"EIO": "4", "transport": "polling", "sid": sid},
                             data=body, timeout=5, **kwargs)

    def websocket(self, query: str = "EIO=4&transport=websocket", **kwargs: Any) -> Any:
        import websocket

        return websocket.create_connection(self.ws_url + "?" + query, timeout=5, **kwargs)


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start")


def start_server(mode: str, **options: Any) -> Running:
    options.setdefault("ping_interval", 0.3)
    options.setdefault("ping_timeout", 0.2)
    opts = EngineOptions(**options)
    opts.validate()
    recorder = Recorder()
    if mode == "threading":
        return _start_werkzeug(opts, recorder)
    handler = AsyncEcho(recorder)
    loop = asyncio.new_event_loop()
    if mode == "uvicorn":
        import uvicorn

        handler.engine = AsyncEngine(opts, handler, async_mode="asgi")
        config = uvicorn.Config(ASGIApp(handler.engine, socketio_path="engine.io"),
                                host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]

        def stop() -> None:
            server.should_exit = True
            thread.join(10)

        return Running(mode, port, handler.engine, recorder, loop, stop)
    from aiohttp import web

    handler.engine = AsyncEngine(opts, handler, async_mode="aiohttp")
    app = web.Application()
    handler.engine.attach(app, "engine.io")
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop_aiohttp() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return Running(mode, port, handler.engine, recorder, loop, stop_aiohttp)


def _start_werkzeug(opts: EngineOptions, recorder: Recorder) -> Running:
    from werkzeug.serving import make_server

    handler = SyncEcho(recorder)
    handler.engine = Engine(opts, handler, async_mode="threading")
    server = make_server("127.0.0.1", 0, WSGIApp(handler.engine, socketio_path="engine.io"),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _wait_port(server.server_port)

    def stop() -> None:
        server.shutdown()
        thread.join(10)

    return Running("threading", server.server_port, handler.engine, recorder, None, stop)


@pytest.fixture(params=MODES)
def make_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def factory(**options: Any) -> Running:
        running = start_server(request.param, **options)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def server(make_server: Callable[..., Running]) -> Running:
    return make_server()


def test_harness_serves_a_handshake(server: Running) -> None:
    sid, info = server.handshake()
    assert info["sid"] == sid
    events = server.recorder.wait_for(lambda ev: any(e[0] == "connect" for e in ev))
    assert events[0][1] == sid
