"""Reconnection, emit buffering and at-least-once delivery, against the JS server."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations import exceptions
from sio_integrations.errors import ConfigurationError
from sio_integrations.runtime.reconnect import backoff_delay

from .client_node import NodeServer
from .test_client_js import client_threads, until, wait_until

FAST = {"reconnection_delay": 0.05, "reconnection_delay_max": 0.2}


def test_backoff_is_exponential_capped_and_jitter_proportional() -> None:
    nominal = [backoff_delay(n, delay=1, delay_max=5, randomization_factor=0, rand=lambda: 0.9)
               for n in range(5)]
    assert nominal == [1, 2, 4, 5, 5]
    # a factor of 0.5 moves the delay by up to half of itself, either way
    low = backoff_delay(2, delay=1, delay_max=30, randomization_factor=0.5, rand=lambda: 0.0)
    high = backoff_delay(2, delay=1, delay_max=30, randomization_factor=0.5, rand=lambda: 1.0)
    assert (low, high) == (2.0, 6.0)
    # never above the maximum, never negative, no overflow after many attempts
    assert backoff_delay(5000, delay=1, delay_max=5, randomization_factor=1, rand=lambda: 1) == 5
    assert backoff_delay(0, delay=1, delay_max=5, randomization_factor=1, rand=lambda: 0) == 0


def test_options_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="randomization_factor"):
        socketio.Client(randomization_factor=2)
    with pytest.raises(TypeError, match="reconection"):
        socketio.AsyncClient(reconection=False)
    with pytest.raises(ConfigurationError, match="ssl_verify"):
        socketio.Client(ssl_verify="no")


def test_async_server_restart_buffered_emits_once_in_order_and_fresh_auth() -> None:
    tokens = iter(f"t{n}" for n in range(100))

    async def fresh_auth() -> dict[str, str]:
        return {"token": next(tokens)}

    async def main(server: NodeServer) -> None:
        sio = socketio.AsyncClient(**FAST)
        reasons: list[str] = []
        connects: list[str] = []
        sio.on("disconnect", lambda reason: reasons.append(reason))
        sio.on("connect", lambda: connects.append("/"))
        sio.on("connect", lambda: connects.append("/chat"), namespace="/chat")
        header_calls: list[int] = []

        def headers() -> dict[str, str]:
            header_calls.append(1)
            return {"X-Test": f"h{len(header_calls)}"}

        await sio.connect(lambda: server.url, headers=headers, auth=fresh_auth,
                          namespaces=["/", "/chat"], transports=["websocket"])
        assert (await sio.call("handshake"))["header"] == "h1"
        assert await sio.call("auth") == {"token": "t0"}
        assert await sio.call("record", "before") == 1
        old_sids = dict(sio.namespaces)
        server.kill()
        await until(lambda: not sio.connected, what="the client to notice")
        for n in range(5):
            await sio.emit("record", n)  # buffered, no exception
        await sio.emit("record", "chat", namespace="/chat")
        server.start()  # same port
        await until(lambda: set(sio.namespaces) == {"/", "/chat"}, 10, "reconnection")
        assert sio.namespaces["/"] != old_sids["/"]
        assert await sio.call("records") == [0, 1, 2, 3, 4, "chat"]
        token = (await sio.call("auth"))["token"]
        assert token != "t0"  # the callable was called again for the new connection
        assert (await sio.call("handshake"))["header"] == f"h{len(header_calls)}"
        assert len(header_calls) >= 2
        assert reasons and reasons[0] == "transport error"
        assert connects.count("/") == 2 and connects.count("/chat") == 2
        await sio.disconnect()
        assert len(asyncio.all_tasks()) == 1

    with NodeServer() as server:
        asyncio.run(main(server))


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_sync_server_restart_and_buffer_bound(transport: str) -> None:
    with NodeServer() as server:
        sio = socketio.Client(max_buffered_emits=3, **FAST)
        sio.connect(server.url, transports=[transport])
        server.kill()
        wait_until(lambda: not sio.connected, 10, "the client to notice")
        for n in range(3):
            sio.emit("record", n)
        with pytest.raises(exceptions.BadNamespaceError, match="buffer is full"):
            sio.emit("record", "overflow")
        server.start()
        wait_until(lambda: sio.connected, 10, "reconnection")
        assert sio.call("records") == [0, 1, 2]
        sio.disconnect()
        assert client_threads() == []
        with pytest.raises(exceptions.BadNamespaceError):
            sio.emit("record", "after disconnect")


def test_giving_up_after_reconnection_attempts_ends_wait() -> None:
    async def main() -> None:
        with NodeServer() as server:
            sio = socketio.AsyncClient(reconnection_attempts=2, reconnection_delay=0.05,
                                       reconnection_delay_max=0.05, randomization_factor=0)
            await sio.connect(server.url, transports=["websocket"])
            waiter = asyncio.ensure_future(sio.wait())
            server.kill()
            await asyncio.wait_for(waiter, 10)
            assert not sio.connected
            with pytest.raises(exceptions.BadNamespaceError):
                await sio.emit("record", 1)
            await sio.disconnect()
            assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


def test_at_least_once_retries_until_acknowledged() -> None:
    async def main() -> None:
        with NodeServer() as server:
            sio = socketio.AsyncClient(retries=3, ack_timeout=0.2, **FAST)
            await sio.connect(server.url, transports=["websocket"])
            acked: list[Any] = []
            # the server ignores the first two deliveries of "a"
            await sio.emit("flaky", ("a", 2), callback=lambda n: acked.append(("a", n)))
            await sio.emit("flaky", ("b", 0), callback=lambda n: acked.append(("b", n)))
            await until(lambda: len(acked) == 2, 5, "acks")
            assert acked == [("a", 3), ("b", 1)]  # in order: one emit in flight at a time
            # never acknowledged within the budget: call() fails after 1 + retries tries
            with pytest.raises(exceptions.TimeoutError):
                await sio.call("flaky", ("c", 10), timeout=5)
            attempts = await sio.call("attempts")
            assert attempts == {"a": 3, "b": 1, "c": 4}
            # emits made while the server is down are delivered after it is back
            server.kill()
            await until(lambda: not sio.connected, 5, "disconnect")
            await sio.emit("flaky", ("d", 0))
            await sio.emit("flaky", ("e", 0))
            server.start()
            await until(lambda: sio.connected, 10, "reconnection")
            await until(lambda: not sio._outgoing, 5, "delivery")
            assert await sio.call("records", timeout=5) == ["d", "e"]
            await sio.disconnect()
            assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


def test_connect_retry_waits_for_a_server_that_starts_late() -> None:
    server = NodeServer().start()
    server.kill()  # keeps its port for the restart
    starter = threading.Timer(0.3, server.start)
    try:
        sio = socketio.Client(**FAST)
        with pytest.raises(exceptions.ConnectionError):
            sio.connect(server.url, transports=["websocket"])  # no retry: fails at once
        starter.start()
        sio.connect(server.url, transports=["websocket"], retry=True)
        assert sio.connected and sio.call("echo", "late") == "late"
        sio.disconnect()
        assert client_threads() == []
    finally:
        starter.join(10)
        server.kill()


def test_emits_before_the_namespace_answers_are_buffered_and_helpers_work() -> None:
    async def main() -> None:
        with NodeServer() as server:
            sio = socketio.AsyncClient()
            await sio.connect(server.url, namespaces=["/", "/chat"], wait=False)
            await sio.emit("record", "early", namespace="/chat")  # CONNECTING: buffered
            await sio.send("message-event")
            results: list[int] = []

            async def job(n: int) -> None:
                await sio.sleep(0.01)
                results.append(n)

            await sio.start_background_task(job, 7)
            assert results == [7]
            await until(lambda: "/chat" in sio.namespaces, what="/chat")
            assert await sio.call("records", namespace="/chat") == ["early"]
            await sio.disconnect()

    asyncio.run(main())


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_heartbeat_watchdog_reports_ping_timeout_on_every_transport(transport: str) -> None:
    async def main() -> None:
        with NodeServer(ping_interval=200, ping_timeout=300) as server:
            sio = socketio.AsyncClient(**FAST)
            reasons: list[str] = []
            sio.on("disconnect", lambda reason: reasons.append(reason))
            await sio.connect(server.url, transports=[transport])
            await asyncio.sleep(0.6)  # heartbeats flow: no false alarm
            assert reasons == [] and sio.connected
            first = sio.sid
            server.pause()
            started = time.monotonic()
            await until(lambda: reasons, 5, "ping timeout detection")
            assert time.monotonic() - started < 1.5  # interval + timeout, plus slack
            assert reasons == ["ping timeout"]
            server.resume()
            await until(lambda: sio.connected and sio.sid != first, 10, "reconnection")
            assert await sio.call("echo", 1) == 1
            await sio.disconnect()
            assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_sync_client_detects_ping_timeout(transport: str) -> None:
    with NodeServer(ping_interval=200, ping_timeout=300) as server:
        sio = socketio.Client(**FAST)
        reasons: list[str] = []
        sio.on("disconnect", lambda reason: reasons.append(reason))
        sio.connect(server.url, transports=[transport])
        first = sio.sid
        server.pause()
        started = time.monotonic()
        wait_until(lambda: reasons, 5, "ping timeout detection")
        assert time.monotonic() - started < 1.5
        assert reasons == ["ping timeout"]
        server.resume()
        wait_until(lambda: sio.connected and sio.sid != first, 10, "reconnection")
        assert sio.call("echo", 2) == 2
        sio.disconnect()
        # engineio's polling reader of the dead connection may still be inside a long-poll
        # that the resumed server answers late; it ends by itself
        wait_until(lambda: client_threads() == [], 10, "threads to end")
