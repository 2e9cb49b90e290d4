"""Every example project driven end to end in headless Chromium (see docs/browser_tests.md).

One module-scoped server per example; tests run in order against it: the chat scenario
(three users, two rooms, user list, server killed and restarted), a graceful restart
(SIGTERM with a page connected), then long-polling only (websocket blocked).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .availability import CI, unavailable

try:
    from .adapters import ExampleAdapter, Unavailable, discover
    from .scenario import chat_scenario, graceful_restart_scenario, polling_scenario
    from .servers import STOP_TIMEOUT, ServerProcess, free_port
except ImportError as exc:  # playwright missing
    if CI:
        raise
    pytest.skip(f"playwright is not installed: {exc}", allow_module_level=True)

EXAMPLES = discover()
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module", params=EXAMPLES, ids=[a.name for a in EXAMPLES])
def example(request: pytest.FixtureRequest,
            artifacts_root: Path) -> Iterator[tuple[ExampleAdapter, ServerProcess, Path]]:
    adapter: ExampleAdapter = request.param
    try:
        adapter.prepare()
    except Unavailable as exc:
        unavailable(str(exc))
    folder = artifacts_root / adapter.name
    shutil.rmtree(folder, ignore_errors=True)  # only this example's previous artifacts
    folder.mkdir(parents=True)
    server = adapter.server(free_port(), folder / "server.log")
    server.start()
    try:
        yield adapter, server, folder
    finally:
        server.kill()  # SIGTERM is a test of its own; abandoned long-polls would delay it


def running(example: tuple[ExampleAdapter, ServerProcess, Path]) -> ServerProcess:
    server = example[1]
    if server.proc is None:  # an earlier test failed while it was down
        server.start()
    return server


def test_chat_scenario(browser: Any, example: tuple[ExampleAdapter, ServerProcess, Path],
                       record_property: Any) -> None:
    adapter, _, folder = example
    notes = chat_scenario(browser, adapter, running(example), folder)
    # e.g. whether the login survived the restart: kept next to the screenshots
    (folder / "notes.json").write_text(json.dumps(notes, indent=2) + "\n")
    for key, value in notes.items():
        record_property(key, value)


def test_sigterm_stops_the_server_and_pages_reconnect(
        browser: Any, example: tuple[ExampleAdapter, ServerProcess, Path]) -> None:
    adapter, server, folder = example
    code = graceful_restart_scenario(browser, adapter, running(example), folder)
    assert code is not None, f"{server.name} ignored SIGTERM for {STOP_TIMEOUT} s"


def test_long_polling_only(browser: Any,
                           example: tuple[ExampleAdapter, ServerProcess, Path]) -> None:
    adapter, _, folder = example
    polling_scenario(browser, adapter, running(example), folder)
