from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sanic import Sanic

from tests.services import free_port, redis_server  # noqa: F401  (fixture)

from .eio import PollingPeer

_names = itertools.count()


def app_name(prefix: str = "sio_sanic_test") -> str:
    """Sanic registers apps by name, process-wide: one fresh name per app."""
    return f"{prefix}_{next(_names)}"


@contextmanager
def running(app: Sanic) -> Iterator[Any]:
    """sanic-testing's ReusableClient: the app served on a free port for the block.

    Its loop runs only while a request is made, so each request below is also what drives
    the server's background work.
    """
    from sanic_testing.reusable import ReusableClient

    loop = asyncio.new_event_loop()
    try:
        with ReusableClient(app, port=free_port(), loop=loop) as client:
            yield client
    finally:
        loop.close()


def peer(client: Any, headers: dict[str, str] | None = None,
         path: str = "/socket.io/") -> PollingPeer:
    """A long-polling Socket.IO peer over a ReusableClient."""

    def request(method: str, url: str, body: str | None,
                hdrs: dict[str, str]) -> tuple[int, str, Any]:
        if method == "GET":
            _, response = client.get(url, headers=hdrs)
        else:
            _, response = client.request(url, http_method=method, content=body, headers=hdrs)
        return response.status_code, response.text, response.headers

    return PollingPeer(request, path=path, headers=headers)


@pytest.fixture(autouse=True)
def _sanic_test_mode() -> Iterator[None]:
    Sanic.test_mode = True
    yield
