"""SOCKETIO_MESSAGE_QUEUE: servers of several apps as one, and the external emitter.

Two Flask applications in this process stand for two server processes: each has its own
server and message-queue manager on the real redis-server of tests/services.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request

from sio_integrations import PubSubManager
from sio_integrations.flask import SocketIO, join_room
from sio_integrations.flask.testing import SocketIOTestClient


def _node(url: str, channel: str) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="s", SOCKETIO_MESSAGE_QUEUE=url, SOCKETIO_CHANNEL=channel)
    sio = SocketIO(app)

    @sio.on("join")
    def join(room: str) -> str:
        join_room(room)
        return str(request.sid)

    @sio.on("shout")
    def shout(room: str, text: str) -> None:
        sio.emit("shouted", text, to=room)

    @app.route("/notify/<room>/<text>")
    def notify(room: str, text: str) -> str:
        sio.emit("news", text, to=room)
        return "sent"

    return app, sio


def _wait_received(client: SocketIOTestClient, count: int,
                   timeout: float = 10) -> list[dict[str, Any]]:
    """Messages through the broker arrive asynchronously: poll with a deadline."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        got += client.get_received()
        if time.monotonic() > deadline:
            raise AssertionError(f"received {got}, expected {count} event(s)")
        time.sleep(0.02)
    return got


@pytest.fixture
def cluster(redis_server: Any, request: pytest.FixtureRequest
            ) -> Iterator[tuple[str, str, list[tuple[Flask, SocketIO]]]]:
    channel = "flask-" + request.node.name
    nodes = [_node(redis_server.url, channel) for _ in range(2)]
    yield redis_server.url, channel, nodes
    for app, sio in nodes:
        sio.get_server(app).shutdown()


def test_config_key_builds_the_message_queue_manager(
        cluster: tuple[str, str, list[tuple[Flask, SocketIO]]]) -> None:
    url, channel, nodes = cluster
    for app, sio in nodes:
        server = sio.get_server(app)
        assert isinstance(server.manager, PubSubManager)
        assert server.options.message_queue == url
        assert server.options.channel == channel


def test_emits_reach_clients_of_the_other_server(
        cluster: tuple[str, str, list[tuple[Flask, SocketIO]]]) -> None:
    _, _, [(app1, sio1), (app2, sio2)] = cluster
    on1 = sio1.test_client(app1)
    on2 = sio2.test_client(app2)
    on1.emit("join", "room")
    on2.emit("join", "room")
    # an HTTP view of node 2 reaches the room members of both nodes
    assert app2.test_client().get("/notify/room/hello").data == b"sent"
    expected = {"name": "news", "args": ["hello"], "namespace": "/"}
    assert _wait_received(on1, 1) == [expected]
    assert _wait_received(on2, 1) == [expected]
    # a handler on node 1 too
    on1.emit("shout", "room", "hey")
    assert _wait_received(on2, 1) == [{"name": "shouted", "args": ["hey"], "namespace": "/"}]
    assert _wait_received(on1, 1) == [{"name": "shouted", "args": ["hey"], "namespace": "/"}]
    on1.close()
    on2.close()


def test_external_emitter_without_an_app(
        cluster: tuple[str, str, list[tuple[Flask, SocketIO]]]) -> None:
    url, channel, [(app1, sio1), _] = cluster
    client = sio1.test_client(app1)
    client.emit("join", "workers")
    # what a Celery worker does: no app, only the queue
    worker = SocketIO(message_queue=url, channel=channel)
    try:
        worker.emit("report", {"id": 7}, to="workers")
        worker.send("plain text", to="workers")
        with pytest.raises(ValueError, match="external emitter"):
            worker.emit("x", callback=lambda *a: None)
        assert _wait_received(client, 2) == [
            {"name": "report", "args": [{"id": 7}], "namespace": "/"},
            {"name": "message", "args": "plain text", "namespace": "/"},
        ]
        worker.close_room("workers")
        # close_room went through the queue: the room is gone on node 1
        deadline = time.monotonic() + 10
        while "workers" in sio1.get_server(app1).rooms(client.sids["/"]):
            assert time.monotonic() < deadline, "close_room did not reach the server"
            time.sleep(0.02)
    finally:
        assert worker.emitter is not None
        worker.emitter.close()
        client.close()
