"""A connect handler that fails inside the Sanic extension's wrapper: the client gets the
generic CONNECT_ERROR, the server log gets the detail with its traceback (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening.close_app import SECRET
from tests.hardening.connect_probe import GENERIC, client_connect_error, polling_connect_error
from tests.hardening.hostproc import Host, available


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    if not available("sanic"):
        pytest.skip("sanic is not installed")
    running = Host("sanic-plugin")
    try:
        yield running
    finally:
        running.close()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_unexpected_exception_gives_the_generic_message(host: Host, transport: str) -> None:
    url = f"http://127.0.0.1:{host.port}"
    if transport == "polling":
        told = polling_connect_error(url, "/boom")
    else:
        told = client_connect_error(url, "/boom")
    assert told == GENERIC
    host.wait_for("Traceback", 10)  # the detail, in the server log only
    host.wait_for("RuntimeError: " + SECRET, 10)


def test_sanic_http_exception_refuses_with_its_message(host: Host) -> None:
    """Sanic shows a ``SanicException``'s message to clients; so does the extension."""
    told = polling_connect_error(f"http://127.0.0.1:{host.port}", "/http")
    assert told == {"message": "members only", "data": {"status": 403}}
