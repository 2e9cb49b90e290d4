"""A connect handler that fails with an unexpected exception inside the Flask extension's
request context, on a real threaded Werkzeug server: the client gets the generic
CONNECT_ERROR, the server log the detail with its traceback (issue 10)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request, session

from sio_integrations.flask import Namespace, SocketIO
from tests.hardening.connect_probe import GENERIC, client_connect_error, polling_connect_error
from tests.runtime.live import run_wsgi, wait_until

SECRET = "db password is hunter2"
handled: list[str] = []


class Failing(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        raise KeyError(SECRET)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    sio = SocketIO(app)

    @sio.on("connect", namespace="/boom")
    def boom(auth: Any = None) -> None:
        # the request context is there: the failure happens while using it
        session["seen"] = request.sid
        raise RuntimeError(SECRET)

    @sio.on("connect", namespace="/handled")
    def handled_boom(auth: Any = None) -> None:
        raise RuntimeError(SECRET)

    @sio.on_error("/handled")
    def on_error(exc: Exception) -> str:
        handled.append(str(exc))
        return f"details: {exc}"  # an error handler's answer is not sent on connect

    sio.on_namespace(Failing("/class"))
    with run_wsgi(app) as running:
        yield running


def _logged_detail(caplog: pytest.LogCaptureFixture) -> bool:
    for record in caplog.records:
        if record.levelno >= logging.ERROR and record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            if SECRET in text:
                return True
    return False


@pytest.mark.parametrize("namespace", ["/boom", "/class"])
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_unexpected_exception_gives_the_generic_message(
        url: str, caplog: pytest.LogCaptureFixture, namespace: str, transport: str) -> None:
    caplog.set_level(logging.ERROR)
    if transport == "polling":
        told = polling_connect_error(url, namespace)
    else:
        told = client_connect_error(url, namespace)
    assert told == GENERIC
    wait_until(lambda: _logged_detail(caplog), 5, "the traceback in the log")


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_error_handler_answer_is_not_sent_on_connect(url: str, transport: str) -> None:
    before = len(handled)
    if transport == "polling":
        told = polling_connect_error(url, "/handled")
    else:
        told = client_connect_error(url, "/handled")
    assert told == GENERIC
    assert handled[before:] == [SECRET]
