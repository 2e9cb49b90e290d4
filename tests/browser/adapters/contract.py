"""Any example that follows the example page contract (/work/helpers/EXAMPLES.md, summed up in
docs/browser_tests.md): ``run.py --host --port``, ``/login`` form, ``#status``, ``#join-form``,
``#send-form``, ``#messages``, ``#users``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, expect

from ..servers import ServerProcess, python_argv
from .base import RECONNECT_TIMEOUT, UI_TIMEOUT, ExampleAdapter

PASSWORD = "chat"


class ContractExample(ExampleAdapter):
    """``folder`` holds ``run.py``; the name is the folder's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name

    def server(self, port: int, log_path: Path) -> ServerProcess:
        return ServerProcess(
            self.name,
            python_argv(str(self.folder / "run.py"), "--host", "127.0.0.1", "--port", str(port)),
            port=port, log_path=log_path,
            # the contract: a line with the URL once ready, then /login answers
            ready_line=rf"http://127\.0\.0\.1:{port}/", probe_path="/login")

    def _submit_login(self, page: Page, username: str, password: str) -> None:
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("#login-form").locator("button, input[type=submit]").first.click()

    def login(self, page: Page, base_url: str, username: str) -> None:
        page.goto(base_url + "/login")
        form, chat = page.locator("#login-form"), page.locator("#me")
        expect(form.or_(chat).first).to_be_visible(timeout=UI_TIMEOUT)
        if form.is_visible():  # a host may send a logged-in user straight to the chat
            self._submit_login(page, username, PASSWORD)
        expect(page).to_have_url(re.compile(re.escape(base_url) + r"/([?#].*)?$"),
                                 timeout=UI_TIMEOUT)
        expect(page.locator("#me")).to_have_text(username, timeout=UI_TIMEOUT)
        self.expect_connected(page)

    def join(self, page: Page, room: str) -> None:
        page.locator("#room").fill(room)
        page.locator("#room").press("Enter")
        expect(page.locator("#room-name")).to_have_text(
            re.compile(rf"(^|\W){re.escape(room)}(\W|$)"), timeout=UI_TIMEOUT)

    def send(self, page: Page, text: str) -> None:
        page.locator("#text").fill(text)
        page.locator("#text").press("Enter")

    def message_lines(self, page: Page) -> Locator:
        return page.locator("#messages li")

    def messages(self, page: Page, username: str, text: str) -> Locator:
        return self.message_lines(page).get_by_text(f"{username}: {text}", exact=True)

    def recover(self, page: Page, base_url: str, username: str, room: str) -> bool:
        # Ask the server (with this context's cookies) whether the login survived the
        # restart: if it did, the page must reconnect by itself; if not, log in again.
        answer = page.context.request.get(base_url + "/", max_redirects=0)
        relogin = answer.status in (301, 302, 303, 307, 308) and \
            "/login" in answer.headers.get("location", "")
        if relogin:
            self.login(page, base_url, username)
        else:
            self.expect_connected(page, RECONNECT_TIMEOUT)
        self.join(page, room)
        return relogin

    def contract_checks(self, context: BrowserContext, base_url: str) -> None:
        page = context.new_page()
        try:
            page.goto(base_url + "/")  # not logged in: sent to the login page
            expect(page).to_have_url(re.compile(re.escape(base_url) + r"/login\b"),
                                     timeout=UI_TIMEOUT)
            expect(page.locator("#password")).to_have_attribute("type", "password")
            self._submit_login(page, "nobody", "wrong-password")
            expect(page.locator("#login-error")).to_be_attached(timeout=UI_TIMEOUT)
            expect(page.locator("#login-form")).to_be_visible()
            answer = context.request.get(base_url + "/", max_redirects=0)
            assert answer.status != 200, "a wrong password logged in"
        finally:
            page.close()
        assert_anonymous_socket_refused(context, base_url)


def assert_anonymous_socket_refused(context: BrowserContext, base_url: str) -> None:
    """Without a login, a Socket.IO connection to "/" must be refused: either the Engine.IO
    handshake fails or the namespace CONNECT is answered with CONNECT_ERROR (``44``)."""
    endpoint = base_url + "/socket.io/?EIO=4&transport=polling"
    handshake = context.request.get(endpoint)
    if handshake.status != 200:
        return  # refused before any Socket.IO exchange
    opened = handshake.text()
    assert opened.startswith("0{"), f"not an Engine.IO handshake: {opened[:200]!r}"
    sid = json.loads(opened[1:])["sid"]
    posted = context.request.post(f"{endpoint}&sid={sid}", data="40",
                                  headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert posted.ok, f"CONNECT not accepted for delivery: {posted.status}"
    packets = context.request.get(f"{endpoint}&sid={sid}").text().split("\x1e")
    assert not any(p.startswith("40") for p in packets), f"anonymous socket accepted: {packets}"
    assert any(p.startswith("44") for p in packets), f"no CONNECT_ERROR: {packets}"
