"""example_projects/chat: the README demo (nickname login, rooms, live user lists)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from ..servers import ROOT, ServerProcess, python_argv
from .base import UI_TIMEOUT, ExampleAdapter


class DemoChat(ExampleAdapter):
    name = "chat"
    folder = ROOT / "example_projects" / "chat"
    relogin_expected = False  # the nickname is in the page; the server needs nothing else

    def server(self, port: int, log_path: Path) -> ServerProcess:
        # what scripts/demo.sh runs, with HOST/PORT as it sets them
        return ServerProcess(
            self.name, python_argv(str(self.folder / "app.py")), port=port, log_path=log_path,
            env={"HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warning"},
            ready_line=rf"http://127\.0\.0\.1:{port}", probe_path="/static/chat.js")

    def login(self, page: Page, base_url: str, username: str) -> None:
        page.goto(base_url + "/")
        page.locator("#nickname").fill(username)
        page.locator("#nickname").press("Enter")
        expect(page.locator("#me")).to_have_text(username, timeout=UI_TIMEOUT)
        self.expect_connected(page)

    def join(self, page: Page, room: str) -> None:
        page.locator("#new-room").fill(room)
        page.locator("#new-room").press("Enter")
        expect(page.locator("#room-title")).to_have_text(f"# {room}", timeout=UI_TIMEOUT)

    def send(self, page: Page, text: str) -> None:
        expect(page.locator("#text")).to_be_enabled(timeout=UI_TIMEOUT)
        page.locator("#text").fill(text)
        page.locator("#text").press("Enter")

    def message_lines(self, page: Page) -> Locator:
        return page.locator("#messages li:not(.system)")

    def messages(self, page: Page, username: str, text: str) -> Locator:
        # a line is <li><time/><b>nickname</b><span>text</span></li>
        return (self.message_lines(page)
                .filter(has=page.locator("b").get_by_text(username, exact=True))
                .filter(has=page.locator("span").get_by_text(text, exact=True)))
