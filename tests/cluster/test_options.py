"""The message-queue options and how a server turns them into a manager."""

from __future__ import annotations

import pytest

import sio_integrations as socketio
from sio_integrations.errors import ConfigurationError
from sio_integrations.options import ServerOptions
from sio_integrations.runtime.brokers import broker_from_url, redact
from sio_integrations.runtime.brokers.amqp_broker import AioPikaBroker, KombuBroker
from sio_integrations.runtime.brokers.redis_broker import (
    AsyncRedisBroker,
    RedisBroker,
    parse_sentinel_url,
)


def test_host_settings_reach_the_options() -> None:
    options = ServerOptions.from_mapping({
        "SOCKETIO_MESSAGE_QUEUE": "redis://h:1/0", "SOCKETIO_CHANNEL": "chat",
        "SOCKETIO_MESSAGE_QUEUE_SECRET": "0123456789abcdef", "SOCKETIO_MESSAGE_QUEUE_OUTBOX": 50,
    }, prefix="SOCKETIO_")
    assert (options.message_queue, options.channel, options.message_queue_outbox) == (
        "redis://h:1/0", "chat", 50)
    assert {"message_queue", "channel", "message_queue_secret", "message_queue_format",
            "message_queue_options", "message_queue_outbox", "message_queue_outbox_age",
            "message_queue_timeout"} <= set(ServerOptions.option_names())


@pytest.mark.parametrize("name,value", [
    ("message_queue", "localhost:6379"), ("message_queue", 5), ("channel", ""),
    ("message_queue_secret", "short"), ("message_queue_format", "pickle"),
    ("message_queue_options", ["x"]), ("message_queue_outbox", -1),
    ("message_queue_outbox_age", 0), ("message_queue_timeout", "5"),
])
def test_invalid_values_name_the_option(name: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=name):
        ServerOptions.from_kwargs(**{name: value})


def test_servers_build_their_manager_from_the_url() -> None:
    sio = socketio.AsyncServer(message_queue="redis://127.0.0.1:1/0", channel="c1",
                               message_queue_outbox=5)
    assert isinstance(sio.manager, socketio.AsyncPubSubManager)
    assert isinstance(sio.manager.bus.broker, AsyncRedisBroker)
    assert sio.manager.bus.broker.channel == "c1" and sio.manager.bus.outbox_limit == 5
    sync = socketio.Server(message_queue="amqp://guest:guest@127.0.0.1:1//")
    assert isinstance(sync.manager, socketio.PubSubManager)
    assert isinstance(sync.manager.bus.broker, KombuBroker)
    assert isinstance(socketio.AsyncServer().manager, socketio.AsyncManager)
    assert not isinstance(socketio.AsyncServer().manager, socketio.AsyncPubSubManager)


def test_unknown_scheme_and_both_managers_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="message_queue.*'kafka'"):
        socketio.AsyncServer(message_queue="kafka://h:9092")
    with pytest.raises(ConfigurationError, match="client_manager or message_queue"):
        socketio.Server(message_queue="redis://h/0", client_manager=socketio.Manager())


def test_broker_factory_and_url_forms() -> None:
    assert isinstance(broker_from_url("valkey://h/0", asyncio=True), AsyncRedisBroker)
    assert isinstance(broker_from_url("rediss://h/0", asyncio=False), RedisBroker)
    assert isinstance(broker_from_url("amqps://h//", asyncio=True), AioPikaBroker)
    assert parse_sentinel_url("redis+sentinel://:pw@s1:26379,s2:26380/2/mymaster") == (
        [("s1", 26379), ("s2", 26380)], "mymaster", {"password": "pw", "db": 2})
    assert redact("amqp://user:secret@h//") == "amqp://user:***@h//"


def test_python_socketio_constructors() -> None:
    manager = socketio.AsyncRedisManager("redis://127.0.0.1:1/0", channel="x",
                                         write_only=True, redis_options={"db": 3})
    assert manager.write_only and manager.bus.broker.options["db"] == 3
    kombu = socketio.KombuManager("amqp://h//", channel="y", connection_options={},
                                  exchange_options={})
    assert kombu.bus.broker.channel == "y"
    assert isinstance(socketio.AsyncAioPikaManager("amqp://h//").bus.broker, AioPikaBroker)
