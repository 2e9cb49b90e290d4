"""``SocketIORouter(message_queue=...)``: two FastAPI applications (two nodes) sharing a real
redis-server; an emit made in an HTTP endpoint of one reaches the clients of both."""

from __future__ import annotations

import queue
from contextlib import ExitStack
from typing import Any

import requests
import socketio as reference  # python-socketio: the test-only peer
from fastapi import FastAPI

from sio_integrations.fastapi import SocketIORouter
from tests.runtime.live import run_asgi, wait_until


def _node(url: str) -> tuple[FastAPI, SocketIORouter]:
    router = SocketIORouter(message_queue=url, channel="fastapi-test")
    app = FastAPI()
    app.include_router(router)

    @app.post("/announce/{text}")
    async def announce(text: str) -> dict[str, str]:
        await router.sio.emit("news", text)
        return {"sent": text}

    return app, router


def test_an_emit_from_one_node_reaches_the_clients_of_both(redis_server: Any) -> None:
    redis_server.flush()
    news: queue.Queue[tuple[int, str]] = queue.Queue()
    clients: list[Any] = []
    with ExitStack() as stack:
        nodes = [_node(redis_server.url) for _ in range(2)]
        bases = [stack.enter_context(run_asgi(app)) for app, _ in nodes]
        try:
            for index, base in enumerate(bases):
                client = reference.Client(reconnection=False)
                client.on("news", lambda text, i=index: news.put((i, text)))
                client.connect(base, transports=["websocket"], wait_timeout=5)
                clients.append(client)
            # each node started its manager with its first client; its listener
            # subscribes in the background
            for _, router in nodes:
                wait_until(lambda r=router: r.sio.manager.health().connected, 10,
                           "the node's listener to subscribe")
            response = requests.post(f"{bases[0]}/announce/hello", timeout=5)
            assert response.json() == {"sent": "hello"}
            got = sorted([news.get(timeout=10), news.get(timeout=10)])
            assert got == [(0, "hello"), (1, "hello")]
            assert news.empty()
        finally:
            for client in clients:
                client.disconnect()
