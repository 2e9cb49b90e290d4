"""Two Tornado processes sharing a Redis message queue through the ``socketio_message_queue``
Application setting: a broadcast from a client of one reaches the clients of both."""

from __future__ import annotations

import json
import queue
from contextlib import ExitStack
from typing import Any

import socketio as reference  # python-socketio: the test-only peer

from tests.sanic_plugin.nodejs import server_process
from tests.services import free_port

from .chatapp import signed


def test_broadcast_reaches_both_processes(redis_server: Any) -> None:
    settings = json.dumps({"socketio_message_queue": redis_server.url})
    news: queue.Queue[Any] = queue.Queue()
    clients = []
    with ExitStack() as stack:
        ports = [free_port(), free_port()]
        for port in ports:
            stack.enter_context(server_process(["tests/tornado_plugin/serve.py", str(port)],
                                               env={"SIO_TEST_SETTINGS": settings}))
        try:
            pids = set()
            for port in ports:
                c = reference.Client(reconnection=False)
                c.on("news", news.put)
                c.connect(f"http://127.0.0.1:{port}", transports=["websocket"],
                          headers={"Cookie": f"user={signed('user', 'alice')}"},
                          wait_timeout=5)
                clients.append(c)
                pids.add(c.call("whoami", timeout=5)["pid"])
            assert len(pids) == 2
            clients[0].emit("broadcast", "to everyone")
            got = [news.get(timeout=10), news.get(timeout=10)]
            assert [g["text"] for g in got] == ["to everyone", "to everyone"]
        finally:
            for c in clients:
                c.disconnect()
