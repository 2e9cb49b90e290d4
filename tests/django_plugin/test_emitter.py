"""emit()/aemit() outside a serving process, and the handshake-only middleware."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.test import override_settings

from sio_integrations.django import aemit, emit, sio
from sio_integrations.django.broker import ChannelLayerBroker
from sio_integrations.django.consumers import serving
from sio_integrations.django.testing import SocketIOCommunicator
from sio_integrations.errors import LocalProtocolError
from sio_integrations.protocol.cluster import ClusterCodec

MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.mark.asyncio
async def test_emit_in_async_code_says_use_aemit() -> None:
    with pytest.raises(LocalProtocolError, match="aemit"):
        emit("news", 1)


@pytest.mark.asyncio
async def test_aemit_from_a_process_that_serves_nobody_publishes_on_the_layer() -> None:
    with override_settings(CHANNEL_LAYERS=MEMORY):
        listener = ChannelLayerBroker().listen()  # what a serving worker would hear
        received = asyncio.ensure_future(listener.__anext__())
        layer = ChannelLayerBroker().layer()
        for _ in range(500):  # bounded: until the listener joined the group
            if layer.groups.get("sio_integrations"):
                break
            await asyncio.sleep(0.01)
        assert sio.server not in serving  # this process serves no client
        await aemit("news", {"text": "from a task"}, to="room-1")
        payload = await asyncio.wait_for(received, 10)
        await listener.aclose()
    message = ClusterCodec().decode(payload)
    assert message["k"] == "emit"
    assert message["ev"] == "news"
    assert message["args"] == [{"text": "from a task"}]
    assert "room-1" in json.dumps(message["to"])


@pytest.mark.asyncio
async def test_auth_middleware_runs_for_the_handshake_only(users: dict[str, Any]) -> None:
    from channels.auth import AuthMiddlewareStack
    from channels.routing import URLRouter

    from sio_integrations.django.routing import socketio_urlpatterns

    calls: list[str] = []

    def counting(inner: Any) -> Any:
        stack = AuthMiddlewareStack(inner)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            calls.append(scope["query_string"].decode())
            await stack(scope, receive, send)

        return app

    application = URLRouter(socketio_urlpatterns(counting))
    async with SocketIOCommunicator(application, user=users["alice"],
                                    origin="http://testserver", transport="polling") as alice:
        for _ in range(3):
            assert (await alice.call("whoami"))[0]["user"] == "alice"
    assert len(calls) == 1 and "sid=" not in calls[0]


def test_wsgi_project_emits_through_the_message_queue_when_not_serving(
        redis_server: Any) -> None:
    """A WSGI project's Celery task/command: emit() publishes with a kept sync Emitter."""
    import redis

    settings = {"ASYNC_MODE": "threading", "MESSAGE_QUEUE": redis_server.url,
                "CHANNEL": "sio-django-wsgi"}
    subscriber = redis.Redis.from_url(redis_server.url).pubsub()
    subscriber.subscribe("sio-django-wsgi")
    try:
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        with override_settings(SOCKETIO=settings):
            emit("news", {"text": "from a task"}, to="room-2")
            for _ in range(50):  # bounded: skip anything but our message
                message = subscriber.get_message(timeout=5)
                if message is not None and message["type"] == "message":
                    break
            assert message is not None
            decoded = ClusterCodec().decode(message["data"])
            assert decoded["ev"] == "news" and decoded["args"] == [{"text": "from a task"}]
    finally:
        subscriber.close()


def test_async_mode_django_cannot_serve_is_reported() -> None:
    from sio_integrations.django.checks import check_settings

    with override_settings(SOCKETIO={"ASYNC_MODE": "aiohttp"}):
        assert "sio_integrations.E008" in [m.id for m in check_settings()]
