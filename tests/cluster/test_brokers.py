"""The broker contract (runtime/_async/broker.py), checked on every built-in broker with a
real server: publish reaches every listener (its own included), close() ends a running
listen, and an unreachable broker raises ConnectionError from publish and listen."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from sio_integrations.runtime.brokers import broker_from_url

from .harness import wait_until

BROKERS = ["redis", "valkey", "rabbitmq"]


def url_for(kind: str, request: Any) -> str:
    server = request.getfixturevalue("rabbitmq_server" if kind == "rabbitmq"
                                     else "redis_server")
    return server.url.replace("redis://", "valkey://") if kind == "valkey" else server.url


def dead_url(kind: str) -> str:
    from tests.services import free_port

    port = free_port()  # nothing listens there
    if kind == "rabbitmq":
        return f"amqp://guest:guest@127.0.0.1:{port}//"
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("kind", BROKERS)
def test_async_broker_contract(kind: str, request: Any) -> None:
    url = url_for(kind, request)

    async def main() -> None:
        broker = broker_from_url(url, asyncio=True, channel=f"contract-{kind}")
        other = broker_from_url(url, asyncio=True, channel=f"contract-{kind}")
        got: list[bytes] = []

        async def listen() -> None:
            async for payload in broker.listen():
                got.append(payload)

        task = asyncio.ensure_future(listen())
        deadline = time.monotonic() + 10
        while not got:  # publish until the subscription is live
            assert time.monotonic() < deadline, "listener never received"
            await other.publish(b"\x00probe")
            await asyncio.sleep(0.1)
        await other.publish(b"\xffbinary")
        while got[-1] != b"\xffbinary":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await broker.close()
        await asyncio.wait_for(task, 5)  # close() ends the running listen
        await other.close()

        dead = broker_from_url(dead_url(kind), asyncio=True)
        with pytest.raises(ConnectionError):
            await dead.publish(b"x")
        with pytest.raises(ConnectionError):
            async for _ in dead.listen():
                pass
        await dead.close()

    asyncio.run(main())


@pytest.mark.parametrize("kind", BROKERS)
def test_sync_broker_contract(kind: str, request: Any) -> None:
    url = url_for(kind, request)
    broker = broker_from_url(url, asyncio=False, channel=f"contract-s-{kind}")
    other = broker_from_url(url, asyncio=False, channel=f"contract-s-{kind}")
    got: list[bytes] = []

    def listen() -> None:
        for payload in broker.listen():
            got.append(payload)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()

    def published_and_seen() -> bool:
        other.publish(b"\x00probe")
        return bool(got)

    wait_until(published_and_seen, 10, "the listener to receive")
    other.publish(b"\xffbinary")
    wait_until(lambda: got[-1] == b"\xffbinary", 10, "a binary payload")
    broker.close()
    thread.join(5)
    assert not thread.is_alive(), "close() did not end the listen"
    other.close()

    dead = broker_from_url(dead_url(kind), asyncio=False)
    with pytest.raises(ConnectionError):
        dead.publish(b"x")
    with pytest.raises(ConnectionError):
        for _ in dead.listen():
            pass
    dead.close()
