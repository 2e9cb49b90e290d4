"""The manager's own reliability logic over an in-memory broker (fast, deterministic)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from sio_integrations import AsyncPubSubManager
from sio_integrations.errors import ClusterTimeoutError, LocalProtocolError, MessageQueueError
from sio_integrations.protocol.cluster import ClusterCodec

from .fakes import MemoryHub

pytestmark = pytest.mark.asyncio


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def messages(hub: MemoryHub, kind: str) -> list[dict[str, Any]]:
    codec = ClusterCodec()
    decoded = [codec.decode(p) for p in hub.published]
    return [m for m in decoded if m["k"] == kind]


async def test_failed_publish_raises_without_an_outbox() -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), write_only=True)
    hub.down = True
    with pytest.raises(MessageQueueError):
        await manager.emit("e", 1, "/", room="r")
    health = manager.health()
    assert health.failed == 1 and health.publish_failures == 1 and health.published == 0
    await manager.close()


async def test_outbox_flushes_in_order_and_bounds_the_rest() -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), write_only=True, outbox=3)
    await manager.emit("e", 0, "/")
    hub.down = True
    for n in (1, 2):
        await manager.emit("e", n, "/")  # held, no error
    hub.down = False
    await manager.emit("e", 3, "/")  # the broker is back, but it queues behind the held ones
    await until(lambda: manager.health().outbox == 0)
    assert [m["args"] for m in messages(hub, "emit")] == [[0], [1], [2], [3]]
    hub.down = True
    for n in (4, 5, 6):
        await manager.emit("e", n, "/")
    with pytest.raises(MessageQueueError, match="outbox full"):
        await manager.emit("e", 7, "/")
    assert manager.health().outbox == 3 and manager.health().failed == 1
    await manager.close()


async def test_held_messages_expire(caplog: pytest.LogCaptureFixture) -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), write_only=True, outbox=10, outbox_age=0.05)
    hub.down = True
    await manager.emit("e", 1, "/")
    await asyncio.sleep(0.2)
    hub.down = False
    await until(lambda: manager.health().outbox == 0)
    assert messages(hub, "emit") == [] and manager.health().failed == 1
    assert "expired" in caplog.text
    await manager.close()


async def test_unencodable_data_is_a_local_error() -> None:
    manager = AsyncPubSubManager(MemoryHub().broker(), write_only=True)
    with pytest.raises(LocalProtocolError):
        await manager.emit("e", object(), "/")
    await manager.close()


async def test_listener_reconnects_logs_once_and_counts(
        caplog: pytest.LogCaptureFixture) -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), heartbeat_interval=0.2)
    await manager.initialize()
    await until(lambda: manager.health().connected)
    caplog.clear()
    hub.down = True
    await until(lambda: not manager.health().connected)
    await asyncio.sleep(0.6)  # several failed attempts
    hub.down = False
    back = time.monotonic()
    await until(lambda: manager.health().connected)
    assert time.monotonic() - back < 1.0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "listener lost" in errors[0].getMessage()
    assert manager.health().reconnects == 1
    await manager.close()
    assert len(hub.queues) == 0  # every listen released its subscription


async def test_forged_and_invalid_messages_are_dropped_and_counted() -> None:
    hub = MemoryHub()
    secret = "0123456789abcdef-secret"
    manager = AsyncPubSubManager(hub.broker(), secret=secret)
    await manager.initialize()
    await until(lambda: manager.health().connected)
    hub.inject(ClusterCodec().encode("close", "evil", ns="/", room="r"))
    hub.inject(ClusterCodec(secret="another-secret-0123").encode("close", "evil", ns="/",
                                                                 room="r"))
    hub.inject(b"garbage")
    await until(lambda: sum(manager.health().dropped.values()) == 3)
    assert manager.health().dropped == {"unsigned": 1, "forged": 1, "invalid": 1}
    await manager.close()


async def test_requests_end_with_a_timeout_error_and_partial_results() -> None:
    hub = MemoryHub()
    answering = AsyncPubSubManager(hub.broker())
    asking = AsyncPubSubManager(hub.broker())

    @answering.on_server_event("hi")
    async def hi(name: str) -> str:
        return f"hello {name}"

    await answering.initialize()
    await asking.initialize()
    await until(lambda: asking.health().nodes == 1)
    assert await asking.server_call("hi", "bob", timeout=2) == ["hello bob"]
    # a node that beats but never answers
    hub.inject(ClusterCodec().encode("beat", "mute-node"))
    await until(lambda: asking.health().nodes == 2)
    with pytest.raises(ClusterTimeoutError) as info:
        await asking.server_call("hi", "eve", timeout=0.3)
    assert info.value.partial == ["hello eve"]
    # a node saying goodbye is no longer waited for
    hub.inject(ClusterCodec().encode("bye", "mute-node"))
    await until(lambda: asking.health().nodes == 1)
    assert await asking.server_call("hi", "ann", timeout=2) == ["hello ann"]
    await answering.close()
    await asking.close()
    assert messages(hub, "bye")  # both said goodbye


async def test_close_sends_what_the_outbox_holds() -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), write_only=True, outbox=5)
    await manager.emit("e", 1, "/")  # starts the bus
    hub.down = True
    await manager.emit("e", 2, "/")
    hub.down = False
    await manager.close()
    assert [m["args"] for m in messages(hub, "emit")] == [[1], [2]]
    assert manager.health().outbox == 0 and manager.health().failed == 0


async def test_a_deaf_listener_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    from .fakes import MuteHub

    hub = MuteHub()
    manager = AsyncPubSubManager(hub.broker(), heartbeat_interval=0.1)
    await manager.initialize()
    await until(lambda: manager.health().connected)
    hub.mute = True  # no error, just silence
    await until(lambda: "deaf" in caplog.text, timeout=5)
    hub.mute = False
    await until(lambda: hub.listens >= 2 and manager.health().connected)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "deaf" in errors[0].getMessage()
    assert manager.health().reconnects == 1
    await manager.close()


async def test_a_message_over_the_limit_is_refused_at_the_sender() -> None:
    hub = MemoryHub()
    manager = AsyncPubSubManager(hub.broker(), write_only=True, max_message_bytes=1000)
    with pytest.raises(LocalProtocolError, match="limit"):
        await manager.emit("e", "x" * 2000, "/")
    await manager.emit("e", "x" * 100, "/")
    assert len(messages(hub, "emit")) == 1
    await manager.close()


async def test_a_server_restarted_in_process_rejoins() -> None:
    """AsyncServer.shutdown() stops the manager; startup() brings it back."""
    from sio_integrations import AsyncServer

    hub = MemoryHub()
    sio = AsyncServer(client_manager=AsyncPubSubManager(hub.broker()))
    await sio.startup()
    await until(lambda: sio.manager.health().connected)
    await sio.shutdown()
    assert not sio.manager.health().connected and hub.queues == []
    await sio.startup()
    await until(lambda: sio.manager.health().connected)
    await sio.shutdown()
