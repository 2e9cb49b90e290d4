"""Emitting from views, and the paths without Channels: plain ASGI and WSGI Django."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from asgiref.sync import sync_to_async
from django.test import override_settings

import sio_integrations
from sio_integrations.django.testing import SocketIOCommunicator, force_login_cookie
from sio_integrations.exceptions import ConnectionRefusedError  # noqa: A004
from tests.runtime.live import run_wsgi

ORIGIN = "http://testserver"


def channels_app() -> Any:
    from tests.django_plugin.project.asgi import application

    return application


async def post(app: Any, path: str, form: dict[str, str]) -> tuple[int, bytes]:
    from channels.testing import HttpCommunicator

    body = urlencode(form).encode()
    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"host", b"testserver")]
    response = await HttpCommunicator(app, "POST", path, body=body,
                                      headers=headers).get_response(timeout=10)
    return response["status"], response["body"]


@pytest.mark.asyncio
async def test_sync_view_emits_to_a_room_with_one_call(users: dict[str, Any]) -> None:
    app = channels_app()
    async with SocketIOCommunicator(app, user=users["alice"], origin=ORIGIN) as alice, \
            SocketIOCommunicator(app, user=users["bob"], origin=ORIGIN) as bob:
        await alice.call("join", "news-room")
        status, _ = await post(app, "/broadcast", {"room": "news-room", "text": "extra"})
        assert status == 200
        assert await alice.wait_for("news") == [{"text": "extra", "from": "view"}]
        assert await bob.call("whoami")  # bob is connected but not in the room ...
        assert bob.get_received() == []  # ... and got nothing


@pytest.mark.asyncio
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_plain_asgi_django_reads_the_session_cookie(users: dict[str, Any],
                                                          transport: str) -> None:
    from django.core.asgi import get_asgi_application as django_asgi

    from sio_integrations.django.asgi import get_asgi_application

    app = get_asgi_application(django_asgi())
    async with SocketIOCommunicator(app, user=users["alice"], origin=ORIGIN,
                                    transport=transport) as alice:
        me = (await alice.call("whoami"))[0]
        assert me["user"] == "alice"
        assert me["channels"] is False
        assert await alice.call("awhoami") == [{"user": "alice", "count": 1}]
    with pytest.raises(ConnectionRefusedError):
        await SocketIOCommunicator(app, origin=ORIGIN, transport=transport).connect()
    foreign = SocketIOCommunicator(app, user=users["alice"], origin="http://evil.example",
                                   transport=transport)
    with pytest.raises(ConnectionRefusedError):
        await foreign.connect()


def test_wsgi_django_with_the_synchronous_server(users: dict[str, Any]) -> None:
    from sio_integrations.django.wsgi import get_wsgi_application

    with override_settings(SOCKETIO={"ASYNC_MODE": "threading"}):
        app = get_wsgi_application()
        name, value = force_login_cookie(users["bob"])
        cookie = f"{name}={value}"
        with run_wsgi(app) as url:
            for transports in (["polling"], ["websocket"]):
                client = sio_integrations.SimpleClient()
                client.connect(url, headers={"Cookie": cookie}, transports=transports)
                try:
                    me = client.call("whoami", timeout=10)
                    assert me["user"] == "bob" and me["channels"] is False
                    assert client.call("session_set", ("colour", transports[0]),
                                       timeout=10) is True
                finally:
                    client.disconnect()
                # the session written by the socket handler is the one HTTP sees
                answer = requests.get(url + "/session", params={"key": "colour"},
                                      headers={"Cookie": cookie}, timeout=10)
                assert json.loads(answer.content) == {"value": transports[0]}
            anonymous = sio_integrations.SimpleClient()
            with pytest.raises(sio_integrations.exceptions.ConnectionError):
                anonymous.connect(url, transports=["polling"])


@pytest.mark.asyncio
async def test_force_login_cookie_is_a_real_session(users: dict[str, Any]) -> None:
    from django.contrib.sessions.models import Session

    name, value = await sync_to_async(force_login_cookie)(users["alice"])
    session = await Session.objects.aget(session_key=value)
    assert session.get_decoded()["_auth_user_id"] == str(users["alice"].pk)


@pytest.mark.asyncio
async def test_cache_sessions_and_cors_headers_origins(users: dict[str, Any]) -> None:
    """Any SESSION_ENGINE (here the cache); django-cors-headers' origins on both transports."""
    from django.conf import settings
    from django.contrib.sessions.backends.cache import SessionStore
    from django.core.asgi import get_asgi_application as django_asgi

    from sio_integrations.django.asgi import get_asgi_application

    apps = ["corsheaders", *settings.INSTALLED_APPS]
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache",
                           INSTALLED_APPS=apps,
                           CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
        app = get_asgi_application(django_asgi())
        for transport in ("websocket", "polling"):
            async with SocketIOCommunicator(app, user=users["bob"], transport=transport,
                                            origin="https://app.example.com") as bob:
                assert await bob.call("session_set", "where", transport) == [True]
                key = dict(bob.headers)[b"cookie"].decode().split("=", 1)[1]
            stored = await sync_to_async(lambda k=key: SessionStore(k).load())()
            assert stored["where"] == transport
            foreign = SocketIOCommunicator(app, user=users["bob"], transport=transport,
                                           origin="https://other.example.com")
            with pytest.raises(ConnectionRefusedError):
                await foreign.connect()
