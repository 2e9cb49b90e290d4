"""A connect handler that fails inside the Tornado extension's wrapper: the client gets the
generic CONNECT_ERROR, the server log gets the detail with its traceback (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening.close_app import SECRET
from tests.hardening.connect_probe import GENERIC, client_connect_error, polling_connect_error
from tests.hardening.hostproc import Host, available


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    if not available("tornado"):
        pytest.skip("tornado is not installed")
    running = Host("tornado-plugin")
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


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_tornado_server_error_keeps_its_log_message_out(host: Host, transport: str) -> None:
    """``HTTPError(500, log_message)``: Tornado shows clients the status and reason and
    writes the log message only to its log; the extension does the same (a 4xx refusal's
    message is shown: documented, see tests/tornado_plugin/test_handlers.py)."""
    url = f"http://127.0.0.1:{host.port}"
    if transport == "polling":
        told = polling_connect_error(url, "/http")
    else:
        told = client_connect_error(url, "/http")
    assert told == {"message": "Internal Server Error", "data": {"status": 500}}
    assert SECRET not in str(told)
    host.wait_for("connect refused with HTTP 500: log only: " + SECRET, 10)
