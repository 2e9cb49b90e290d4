"""The README's promise: start the demo, open the printed URL, chat between two tabs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .availability import CI, unavailable

try:
    from playwright.sync_api import expect

    from .adapters.base import Unavailable
    from .adapters.demo_chat import DemoChat
    from .servers import ServerProcess, free_port
except ImportError as exc:  # playwright missing
    if CI:
        raise
    pytest.skip(f"playwright is not installed: {exc}", allow_module_level=True)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def demo(artifacts_root: Any) -> Iterator[tuple[DemoChat, ServerProcess]]:
    adapter = DemoChat()
    try:
        adapter.prepare()
    except Unavailable as exc:
        unavailable(str(exc))
    folder = artifacts_root / "readme_demo"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    log.unlink(missing_ok=True)
    server = adapter.server(free_port(), log)
    server.start()
    try:
        yield adapter, server
    finally:
        server.kill()


def test_two_tabs_of_one_browser_chat_at_the_printed_url(browser: Any,
                                                         demo: tuple[DemoChat, ServerProcess],
                                                         artifacts_root: Any) -> None:
    adapter, server = demo
    # the URL a person copies from the terminal (scripts/demo.sh runs this same app.py)
    printed = re.search(r"http://127\.0\.0\.1:\d+", server.log_tail(500))
    assert printed is not None and printed.group(0) == server.url
    context = browser.new_context()
    try:
        tabs = {name: context.new_page() for name in ("ann", "ben")}
        for name, tab in tabs.items():
            adapter.login(tab, printed.group(0), name)
            adapter.join(tab, "lobby")
        expect(adapter.users(tabs["ann"])).to_have_text(["ann", "ben"])
        adapter.send(tabs["ann"], "two tabs, one browser")
        expect(adapter.messages(tabs["ben"], "ann", "two tabs, one browser")).to_have_count(1)
        tabs["ben"].screenshot(path=artifacts_root / "readme_demo" / "ben.png")
    finally:
        context.close()
