"""ChannelLayerBroker over the in-memory layer and over channels_redis (a real redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.test import override_settings

from sio_integrations.django import sio
from sio_integrations.django.broker import ChannelLayerBroker
from sio_integrations.runtime._async.pubsub import AsyncPubSubManager

pytestmark = pytest.mark.asyncio


async def first(listener: AsyncIterator[bytes]) -> bytes:
    return await asyncio.wait_for(listener.__anext__(), 10)


async def exchange(group: str) -> None:
    """Two listeners on one group both get what a third broker publishes."""
    one, two, sender = (ChannelLayerBroker(group=group) for _ in range(3))
    listen_one, listen_two = one.listen(), two.listen()
    # start both listeners (they join the group before the first message is published)
    pending = [asyncio.ensure_future(first(listen_one)), asyncio.ensure_future(first(listen_two))]
    layer = sender.layer()
    for _ in range(500):  # bounded: wait until both channels are in the group
        if len(await _members(layer, group)) >= 2:
            break
        await asyncio.sleep(0.01)
    await sender.publish(b"\x00binary\xffpayload")
    assert await asyncio.gather(*pending) == [b"\x00binary\xffpayload"] * 2
    await listen_one.aclose()
    await listen_two.aclose()
    assert await _members(layer, group) == []  # the listeners left the group


async def _members(layer: Any, group: str) -> list[str]:
    if hasattr(layer, "groups"):  # InMemoryChannelLayer
        return list(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return list(await connection.zrange(layer._group_key(group), 0, -1))


async def test_in_memory_layer() -> None:
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers):
        await exchange("sio-test-memory")


async def test_channels_redis_layer(redis_server: Any) -> None:
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                          "CONFIG": {"hosts": [redis_server.url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        await exchange("sio-test-redis")


async def test_missing_layer_is_a_connection_error() -> None:
    with override_settings(CHANNEL_LAYERS={}), pytest.raises(ConnectionError):
        await ChannelLayerBroker("nope").publish(b"x")


async def test_project_server_uses_the_layer_when_configured() -> None:
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers, SOCKETIO={"CHANNEL_LAYER_GROUP": "g1"}):
        manager = sio.server.manager
        assert isinstance(manager, AsyncPubSubManager)
        assert isinstance(manager.bus.broker, ChannelLayerBroker)
        assert manager.bus.broker.group == "g1"
        with override_settings(SOCKETIO={"CHANNEL_LAYER": None}):
            assert not isinstance(sio.server.manager, AsyncPubSubManager)
        with override_settings(SOCKETIO={"MESSAGE_QUEUE": "redis://127.0.0.1:1/0"}):
            # an explicit message queue wins over the channel layer
            broker = sio.server.manager.bus.broker
            assert not isinstance(broker, ChannelLayerBroker)
    assert not isinstance(sio.server.manager, AsyncPubSubManager)


async def test_redis_outage_is_a_connection_error_then_recovers(redis_server: Any) -> None:
    """The broker contract the manager's supervisor relies on, through a real outage."""
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                          "CONFIG": {"hosts": [redis_server.url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        broker = ChannelLayerBroker(group="sio-test-outage")
        listener = broker.listen()
        pending = asyncio.ensure_future(listener.__anext__())
        for _ in range(500):  # bounded: until the listener joined the group
            if await _members(broker.layer(), "sio-test-outage"):
                break
            await asyncio.sleep(0.01)
        redis_server.stop()
        try:
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(broker.publish(b"lost"), 20)
            with pytest.raises((ConnectionError, StopAsyncIteration)):
                await asyncio.wait_for(pending, 20)
        finally:
            redis_server.start()
        # a new listen() (what the supervisor does) works again
        await exchange("sio-test-outage-after")
