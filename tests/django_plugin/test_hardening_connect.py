"""A connect handler that fails with an unexpected exception inside the Django plugin's
wrappers (sync handlers in Django's thread, async handlers), through the
Channels consumers on a real uvicorn and through WSGI Django on a threaded Werkzeug: the
client gets the generic CONNECT_ERROR, the server log the detail with its traceback."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from sio_integrations.django import sio
from tests.hardening.connect_probe import GENERIC, client_connect_error, polling_connect_error
from tests.runtime.live import run_asgi, run_wsgi, wait_until

SECRET = "db password is hunter2"


def sync_boom(sid: str, environ: dict[str, Any], auth: Any) -> None:
    from django.contrib.auth.models import User

    User.objects.count()  # a sync handler may use the ORM: it runs in Django's thread
    raise RuntimeError(SECRET)


async def async_boom(sid: str, environ: dict[str, Any], auth: Any) -> None:
    raise RuntimeError(SECRET)


# (class-based namespaces go through the same async wrapper; registering one here would
# stay registered for the whole session and show up in test_settings' system checks)
NAMESPACES = ["/hardening-sync", "/hardening-async"]


@pytest.fixture(scope="module", autouse=True)
def failing_handlers() -> None:
    """Registered once on the project's server (it keeps handlers for every rebuild)."""
    sio.on("connect", sync_boom, namespace="/hardening-sync")
    sio.on("connect", async_boom, namespace="/hardening-async")


@pytest.fixture(scope="module")
def channels_url(sio_db: str) -> Iterator[str]:
    from tests.django_plugin.project.asgi import application

    with run_asgi(application) as url:
        yield url


def _logged_detail(caplog: pytest.LogCaptureFixture) -> bool:
    for record in caplog.records:
        if record.levelno >= logging.ERROR and record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            if SECRET in text:
                return True
    return False


def _probe(url: str, namespace: str, transport: str) -> Any:
    if transport == "polling":
        return polling_connect_error(url, namespace)
    return client_connect_error(url, namespace)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_channels_consumers(channels_url: str, caplog: pytest.LogCaptureFixture,
                            namespace: str, transport: str) -> None:
    caplog.set_level(logging.ERROR)
    assert _probe(channels_url, namespace, transport) == GENERIC
    wait_until(lambda: _logged_detail(caplog), 5, "the traceback in the log")


def test_wsgi_django(sio_db: str, caplog: pytest.LogCaptureFixture) -> None:
    from sio_integrations.django.wsgi import get_wsgi_application

    caplog.set_level(logging.ERROR)
    with override_settings(SOCKETIO={"ASYNC_MODE": "threading"}):
        app = get_wsgi_application()
        with run_wsgi(app) as url:
            for transport in ("polling", "websocket"):
                caplog.clear()
                assert _probe(url, "/hardening-sync", transport) == GENERIC
                wait_until(lambda: _logged_detail(caplog), 5, "the traceback in the log")
