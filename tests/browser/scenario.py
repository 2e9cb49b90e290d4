"""The scenarios every example goes through (chat, graceful restart, long-polling only),
written once over an ExampleAdapter."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Request, WebSocketRoute, expect

from .adapters import ExampleAdapter
from .adapters.base import UI_TIMEOUT
from .servers import ServerProcess

SOCKET_IO = re.compile(r"/socket\.io/")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: the banner of the official bundle (dist/socket.io*.js) from npm
OFFICIAL_CLIENT = re.compile(r"\* Socket\.IO v4\.8\.\d+\b")


def wait_for(page: Page, condition: Callable[[], bool], what: str,
             timeout_ms: float = UI_TIMEOUT) -> None:
    """Bounded poll of a harness-side condition. ``page.wait_for_timeout`` (not time.sleep)
    so Playwright keeps delivering the events the condition depends on."""
    for _ in range(int(timeout_ms / 100) + 1):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Session:
    """The browser contexts of one scenario, one per user, screenshotted at the end."""

    browser: Browser
    shots: Path
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    #: requests that left the loopback interface (a CDN, fonts...): there must be none
    external: list[str] = field(default_factory=list)
    #: scripts the pages loaded
    scripts: list[str] = field(default_factory=list)

    def context(self, user: str) -> BrowserContext:
        if user not in self.contexts:
            ctx = self.browser.new_context(viewport={"width": 1000, "height": 700})
            ctx.set_default_timeout(UI_TIMEOUT)
            ctx.on("request", self._seen)
            self.contexts[user] = ctx
        return self.contexts[user]

    def _seen(self, request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https") and url.hostname not in LOOPBACK:
            self.external.append(request.url)
        if request.resource_type == "script":
            self.scripts.append(request.url)

    def assert_offline_with_official_client(self, base_url: str) -> None:
        """Nothing fetched from the internet, and the socket.io-client bundle from npm is
        served by the example itself."""
        assert not self.external, f"requests left the machine: {self.external}"
        ctx = next(iter(self.contexts.values()))
        bundles = [url for url in dict.fromkeys(self.scripts)
                   if OFFICIAL_CLIENT.search(ctx.request.get(url).text()[:300])]
        assert bundles, f"no socket.io-client 4.8.x bundle among {self.scripts}"
        assert all(url.startswith(base_url + "/") for url in bundles), bundles

    def page(self, user: str) -> Page:
        if user not in self.pages or self.pages[user].is_closed():
            self.pages[user] = self.context(user).new_page()
        return self.pages[user]

    def screenshot(self, suffix: str = "") -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        for user, page in self.pages.items():
            if not page.is_closed():
                page.screenshot(path=self.shots / f"{user}{suffix}.png", full_page=True)


@contextmanager
def session(browser: Browser, shots: Path, prefix: str) -> Iterator[Session]:
    s = Session(browser, shots)
    try:
        yield s
    except BaseException:
        try:
            s.screenshot(f"-{prefix}-failed")
        except Exception:  # noqa: BLE001 - the original failure matters more
            pass
        raise
    else:
        s.screenshot(f"-{prefix}")
    finally:
        for ctx in s.contexts.values():
            ctx.close()


def nonce() -> str:
    return secrets.token_hex(3)


def exchange(adapter: ExampleAdapter, pages: dict[str, Page], sender: str, receiver: str,
             outsider: str, room_tag: str) -> None:
    """``sender`` says something; ``receiver`` sees it; ``receiver`` answers and ``sender``
    sees that; after this round trip, ``outsider`` (another room) has seen neither."""
    hello = f"hello {receiver} {room_tag} {nonce()}"
    adapter.send(pages[sender], hello)
    expect(adapter.messages(pages[receiver], sender, hello)).to_have_count(1)
    reply = f"hi {sender} {room_tag} {nonce()}"
    adapter.send(pages[receiver], reply)
    expect(adapter.messages(pages[sender], receiver, reply)).to_have_count(1)
    for who, text in ((sender, hello), (receiver, reply)):
        expect(adapter.messages(pages[outsider], who, text)).to_have_count(0)


def chat_scenario(browser: Browser, adapter: ExampleAdapter, server: ServerProcess,
                  shots: Path) -> dict[str, object]:
    """Log in three users, chat in two rooms, watch the user list, restart the server."""
    base = server.url
    room, other, _ = adapter.rooms
    notes: dict[str, object] = {}
    with session(browser, shots, "scenario") as s:
        adapter.contract_checks(s.context("carol"), base)
        websockets: list[str] = []
        alice = s.page("alice")
        alice.on("websocket", lambda ws: websockets.append(ws.url))

        adapter.login(alice, base, "alice")
        adapter.join(alice, room)
        expect(adapter.users(alice)).to_have_text(["alice"])
        adapter.login(s.page("carol"), base, "carol")
        adapter.join(s.page("carol"), other)
        adapter.login(s.page("bob"), base, "bob")
        adapter.join(s.page("bob"), room)
        # bob joins: alice sees him; each list shows only that room's users
        expect(adapter.users(alice)).to_have_text(["alice", "bob"])
        expect(adapter.users(s.page("bob"))).to_have_text(["alice", "bob"])
        expect(adapter.users(s.page("carol"))).to_have_text(["carol"])

        exchange(adapter, s.pages, "alice", "bob", "carol", "before-restart")
        # the normal path upgrades to websocket
        assert any(SOCKET_IO.search(url) for url in websockets), websockets
        if adapter.transport(alice) is not None:
            expect(adapter.status(alice)).to_have_attribute("data-transport", "websocket")

        # bob closes his tab: alice's list follows
        s.page("bob").close()
        expect(adapter.users(alice)).to_have_text(["alice"])

        # the server dies and comes back on the same port; the pages recover by themselves
        server.kill()
        adapter.expect_not_connected(alice)
        adapter.expect_not_connected(s.page("carol"))
        server.start()
        relogin = notes["relogin_after_restart"] = adapter.recover(alice, base, "alice", room)
        if adapter.relogin_expected is not None:
            assert relogin == adapter.relogin_expected, f"re-login needed: {relogin}"
        adapter.recover(s.page("carol"), base, "carol", other)
        adapter.login(s.page("bob"), base, "bob")  # a new tab in bob's browser
        adapter.join(s.page("bob"), room)
        expect(adapter.users(alice)).to_have_text(["alice", "bob"])
        expect(adapter.users(s.page("carol"))).to_have_text(["carol"])
        exchange(adapter, s.pages, "alice", "bob", "carol", "after-restart")

        # alice moves to carol's room: she leaves bob's list, appears in carol's, and her
        # message list starts afresh
        adapter.join(alice, other)
        expect(adapter.users(alice)).to_have_text(["alice", "carol"])
        expect(adapter.users(s.page("carol"))).to_have_text(["alice", "carol"])
        expect(adapter.users(s.page("bob"))).to_have_text(["bob"])
        expect(adapter.any_message(alice, "after-restart")).to_have_count(0)
        exchange(adapter, s.pages, "carol", "alice", "bob", "moved")
        s.assert_offline_with_official_client(base)
    return notes


def graceful_restart_scenario(browser: Browser, adapter: ExampleAdapter,
                              server: ServerProcess, shots: Path) -> int | None:
    """SIGTERM (a deploy, Ctrl-C) with a page connected: the server exits, and once it is
    back the page reconnects by itself. Returns the exit code (None: it had to be killed)."""
    base = server.url
    room = adapter.rooms[0]
    with session(browser, shots, "sigterm") as s:
        frank = s.page("frank")
        adapter.login(frank, base, "frank")
        adapter.join(frank, room)
        code = server.stop()
        adapter.expect_not_connected(frank)
        server.start()
        adapter.recover(frank, base, "frank", room)
        expect(adapter.users(frank)).to_have_text(["frank"])
    return code


def polling_scenario(browser: Browser, adapter: ExampleAdapter, server: ServerProcess,
                     shots: Path) -> None:
    """Websocket blocked in the browser: the page still chats, over long-polling."""
    base = server.url
    room = adapter.rooms[2]
    blocked: dict[str, list[str]] = {}
    finished: dict[str, list[Request]] = {}

    def refuse(user: str) -> Callable[[WebSocketRoute], None]:
        def handler(ws: WebSocketRoute) -> None:
            blocked[user].append(ws.url)
            ws.close()  # never connected to the server: the page sees the socket fail
        return handler

    def record(user: str) -> Callable[[Request], None]:
        def handler(request: Request) -> None:
            if SOCKET_IO.search(request.url):
                finished[user].append(request)
        return handler

    with session(browser, shots, "polling") as s:
        for user in ("dave", "erin"):
            blocked[user], finished[user] = [], []
            ctx = s.context(user)
            ctx.route_web_socket(SOCKET_IO, refuse(user))
            ctx.on("requestfinished", record(user))
        dave, erin = s.page("dave"), s.page("erin")
        for user, page in (("dave", dave), ("erin", erin)):
            adapter.login(page, base, user)
            adapter.join(page, room)
        expect(adapter.users(dave)).to_have_text(["dave", "erin"])
        expect(adapter.users(erin)).to_have_text(["dave", "erin"])

        text = f"over polling {nonce()}"
        adapter.send(dave, text)
        expect(adapter.messages(erin, "dave", text)).to_have_count(1)

        # the page did try websocket, and it really is on polling now
        for user, page in (("dave", dave), ("erin", erin)):
            wait_for(page, lambda: bool(blocked[user]), f"{user}'s websocket attempt")  # noqa: B023
            adapter.expect_connected(page)
            if adapter.transport(page) is not None:
                expect(adapter.status(page)).to_have_attribute("data-transport", "polling")
        # dave's message went up in a polling POST, and came down to erin in a polling GET
        wait_for(dave, lambda: any(
            r.method == "POST" and "transport=polling" in r.url and text in (r.post_data or "")
            for r in finished["dave"]), "dave's message in a polling POST")

        bodies: dict[int, str] = {}

        def erin_got_it() -> bool:
            for i, r in enumerate(finished["erin"]):
                if i not in bodies and r.method == "GET" and "transport=polling" in r.url:
                    response = r.response()
                    bodies[i] = response.text() if response is not None else ""
            return any(text in body for body in bodies.values())
        wait_for(erin, erin_got_it, "dave's message in one of erin's polling GETs")
