"""The consumers through Channels' communicators: auth, session, ORM, rooms, namespaces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from sio_integrations.django.testing import SocketIOCommunicator
from sio_integrations.exceptions import ConnectionRefusedError  # noqa: A004
from tests.django_plugin.project.chat.sockets import seen

pytestmark = pytest.mark.asyncio


def application() -> Any:
    from tests.django_plugin.project.asgi import application as app

    return app


ORIGIN = "http://testserver"


async def eventually(condition: Any, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (bounded), polling the event loop."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_logged_in_user_reaches_sync_and_async_handlers(users: dict[str, Any],
                                                              transport: str) -> None:
    async with SocketIOCommunicator(application(), user=users["alice"], origin=ORIGIN,
                                    transport=transport) as alice:
        me = (await alice.call("whoami"))[0]
        assert me["user"] == "alice"
        assert me["id"] == users["alice"].pk
        assert me["channels"] is True  # the scope is Channels' (url_route set by URLRouter)
        assert (await alice.call("awhoami")) == [{"user": "alice", "count": 1}]
    assert seen["connect_user"] == "alice"
    # the synchronous connect handler ran in a worker thread, not on the event loop
    assert seen["connect_thread"] != "MainThread"


async def test_anonymous_refused_with_reason(sio_db: str) -> None:
    client = SocketIOCommunicator(application(), origin=ORIGIN)
    with pytest.raises(ConnectionRefusedError) as info:
        await client.connect()
    assert info.value.error_args == {"message": "authentication required",
                                     "data": {"status": 401}}


async def test_session_written_by_handlers_is_saved(users: dict[str, Any]) -> None:
    from django.contrib.sessions.models import Session

    async with SocketIOCommunicator(application(), user=users["bob"], origin=ORIGIN) as bob:
        assert await bob.call("session_set", "colour", "green") == [True]
        assert await bob.call("asession_set", "size", 3) == [True]
        cookie = dict(bob.headers)[b"cookie"].decode().split("=", 1)[1]

    def stored() -> dict[str, Any]:
        data: dict[str, Any] = Session.objects.get(session_key=cookie).get_decoded()
        return data

    data = await sync_to_async(stored)()
    assert data["colour"] == "green"
    assert data["size"] == 3
    assert data["_auth_user_id"] == str(users["bob"].pk)


async def test_rooms_and_disconnect_handler(users: dict[str, Any]) -> None:
    seen.pop("disconnected", None)
    async with SocketIOCommunicator(application(), user=users["alice"], origin=ORIGIN) as a, \
            SocketIOCommunicator(application(), user=users["bob"], origin=ORIGIN) as b:
        assert "lobby" in (await a.call("join", "lobby"))[0]
        await b.call("join", "lobby")
        await b.emit("say", "lobby", "hi")
        assert await a.wait_for("said") == [{"user": "bob", "text": "hi"}]
        assert await b.wait_for("said") == [{"user": "bob", "text": "hi"}]
    # disconnect handlers (they run after the transport closed) still see the user
    await eventually(lambda: len(seen.get("disconnected", [])) == 2)
    assert sorted(u for u, _ in seen["disconnected"]) == ["alice", "bob"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_communicator_binary_round_trip(users: dict[str, Any], transport: str) -> None:
    async with SocketIOCommunicator(application(), user=users["bob"], origin=ORIGIN,
                                    transport=transport) as bob:
        blob = bytes(range(256))
        assert await bob.call("echo", blob, {"nested": [b"\x00", 1]}) == [
            blob, {"nested": [b"\x00", 1]}]


async def test_emit_from_a_sync_handler(users: dict[str, Any]) -> None:
    async with SocketIOCommunicator(application(), user=users["bob"], origin=ORIGIN) as bob:
        assert await bob.call("shout", "hey") == ["done"]
        assert await bob.wait_for("shouted") == ["HEY"]


async def test_class_namespace_with_login_and_orm(users: dict[str, Any]) -> None:
    async with SocketIOCommunicator(application(), namespace="/admin", user=users["alice"],
                                    origin=ORIGIN) as admin:
        count = (await admin.call("count"))[0]
        assert count >= 2
        assert await admin.call("name") == ["alice"]
    client = SocketIOCommunicator(application(), namespace="/admin", user=users["bob"],
                                  origin=ORIGIN)
    with pytest.raises(ConnectionRefusedError) as info:
        await client.connect()
    assert info.value.error_args == {"message": "staff only"}


async def test_foreign_origin_refused_on_both_transports(users: dict[str, Any]) -> None:
    for transport in ("websocket", "polling"):
        client = SocketIOCommunicator(application(), user=users["alice"],
                                      origin="http://evil.example", transport=transport)
        with pytest.raises(ConnectionRefusedError) as info:
            await client.connect()
        assert info.value.message in ("websocket refused", "polling refused")
