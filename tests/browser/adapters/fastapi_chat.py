"""example_projects/fastapi_chat: token login over POST /login, fixed rooms, under uvicorn."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from ..servers import ROOT, ServerProcess, python_argv
from .base import CONNECTED, RECONNECT_TIMEOUT, UI_TIMEOUT, ExampleAdapter


class FastAPIChat(ExampleAdapter):
    name = "fastapi_chat"
    folder = ROOT / "example_projects" / "fastapi_chat"
    relogin_expected = True  # tokens live in the server's memory

    def server(self, port: int, log_path: Path) -> ServerProcess:
        # the command its docstring gives, on our port
        return ServerProcess(
            self.name,
            python_argv("-m", "uvicorn", "example_projects.fastapi_chat.app:app",
                        "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"),
            port=port, log_path=log_path,
            ready_line=rf"Uvicorn running on http://127\.0\.0\.1:{port}", probe_path="/rooms")

    def _submit_login(self, page: Page, username: str) -> None:
        page.locator("#login input[name=nickname]").fill(username)
        page.locator("#login input[name=nickname]").press("Enter")
        expect(page.locator("#me")).to_have_text(f"as {username}", timeout=UI_TIMEOUT)
        self.expect_connected(page)

    def login(self, page: Page, base_url: str, username: str) -> None:
        page.goto(base_url + "/")
        self._submit_login(page, username)

    def join(self, page: Page, room: str) -> None:
        page.locator("#room").select_option(room)
        expect(page.locator("#log p.system").first).to_have_text(f"you joined {room}",
                                                                 timeout=UI_TIMEOUT)

    def send(self, page: Page, text: str) -> None:
        page.locator("#say input[name=text]").fill(text)
        page.locator("#say input[name=text]").press("Enter")

    def message_lines(self, page: Page) -> Locator:
        return page.locator("#log p:not(.system):not(.error)")

    def messages(self, page: Page, username: str, text: str) -> Locator:
        return self.message_lines(page).get_by_text(f"{username}: {text}", exact=True)

    def recover(self, page: Page, base_url: str, username: str, room: str) -> bool:
        # Tokens live in the server's memory: after a restart the reconnect is refused and
        # the page shows its login form again. Handle a surviving token as well.
        connected = self.status(page).filter(has_text=CONNECTED)
        login_form = page.locator("#login")
        expect(connected.or_(login_form).first).to_be_visible(timeout=RECONNECT_TIMEOUT)
        relogin = login_form.is_visible()
        if relogin:
            self._submit_login(page, username)
        self.join(page, room)
        return relogin
