"""A connect handler (or one of its dependencies, or a router guard) that fails with an
unexpected exception, through the FastAPI router's wrappers on a real uvicorn: the client
gets the generic CONNECT_ERROR, the server log the detail with its traceback (issue 10)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Header

from sio_integrations.fastapi import SocketIORouter
from tests.hardening.connect_probe import GENERIC, client_connect_error, polling_connect_error
from tests.runtime.live import run_asgi, wait_until

SECRET = "db password is hunter2"


def failing_dependency() -> str:
    raise RuntimeError(SECRET)


def working_dependency() -> str:
    return "fine"


def guard(x_boom: str | None = Header(default=None)) -> None:
    if x_boom:
        raise LookupError(SECRET)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = FastAPI()
    router = SocketIORouter(dependencies=[Depends(guard)], namespaces="*")

    @router.on("connect", namespace="/dependency")
    async def with_failing_dependency(sid: str, value: str = Depends(failing_dependency)
                                      ) -> None:
        pass

    @router.on("connect", namespace="/handler")
    async def failing_handler(sid: str, value: str = Depends(working_dependency)) -> None:
        raise RuntimeError(SECRET)

    @router.on("connect", namespace="/sync")
    def failing_sync_handler(sid: str, environ: dict[str, Any]) -> None:
        raise ValueError(SECRET)

    app.include_router(router)
    with run_asgi(app) as running:
        yield running


def _logged_detail(caplog: pytest.LogCaptureFixture) -> bool:
    for record in caplog.records:
        if record.levelno >= logging.ERROR and record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            if SECRET in text:
                return True
    return False


@pytest.mark.parametrize("namespace", ["/dependency", "/handler", "/sync", "/guarded"])
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_unexpected_exception_gives_the_generic_message(
        url: str, caplog: pytest.LogCaptureFixture, namespace: str, transport: str) -> None:
    caplog.set_level(logging.ERROR)
    # "/guarded" has no handler: the router's guard (a dependency of every namespace) fails
    headers = {"X-Boom": "1"} if namespace == "/guarded" else None
    if transport == "polling":
        told = polling_connect_error(url, namespace, headers=headers)
    else:
        told = client_connect_error(url, namespace, headers=headers)
    assert told == GENERIC
    wait_until(lambda: _logged_detail(caplog), 5, "the traceback in the log")
