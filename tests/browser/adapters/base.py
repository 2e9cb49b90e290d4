"""What the scenario needs to know about one example: how to start it and how a person uses
its page. One subclass per page design; the scenario itself is written once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, expect

from ..servers import ServerProcess

#: generous: two shared cores, and a restarted server plus the client's backoff (<= 5 s)
UI_TIMEOUT = 20_000
RECONNECT_TIMEOUT = 60_000
NPM_TIMEOUT = 150.0  # inside the first test's timeout
CONNECTED = re.compile(r"^\s*connected\s*$")


class Unavailable(Exception):
    """A tool the example needs is missing (skip on a laptop, fail under CI)."""


def ensure_client_bundle(folder: Path) -> None:
    """The official socket.io-client from npm in ``folder``/node_modules (installed if needed)."""
    if not (folder / "package.json").is_file():
        return
    if (folder / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable(f"npm is needed to install socket.io-client in {folder}")
    done = subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                          cwd=folder, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    if done.returncode != 0:
        raise Unavailable(f"npm install failed in {folder}:\n{done.stderr[-2000:]}")


class ExampleAdapter:
    """Drive one example. Methods that act wait (auto-waiting expectations) until the page
    shows the effect, so the scenario never sleeps."""

    #: the name used for test ids and artifacts
    name: str = ""
    #: the folder under example_projects/ (npm install runs there)
    folder: Path
    #: rooms the scenario uses: (shared by alice and bob, carol's, the polling test's)
    rooms: tuple[str, str, str] = ("python", "random", "lobby")
    #: whether a server restart logs the user out (None: either is fine)
    relogin_expected: bool | None = None

    def server(self, port: int, log_path: Path) -> ServerProcess:
        raise NotImplementedError

    def prepare(self) -> None:
        ensure_client_bundle(self.folder)

    # --- the page -----------------------------------------------------------------------
    def login(self, page: Page, base_url: str, username: str) -> None:
        """Open the page, log in, and wait until the socket is connected."""
        raise NotImplementedError

    def join(self, page: Page, room: str) -> None:
        """Join ``room`` and wait until the page shows it."""
        raise NotImplementedError

    def send(self, page: Page, text: str) -> None:
        raise NotImplementedError

    def messages(self, page: Page, username: str, text: str) -> Locator:
        """The message lines saying ``text`` from ``username``."""
        raise NotImplementedError

    def any_message(self, page: Page, fragment: str) -> Locator:
        """User message lines whose text contains ``fragment``."""
        return self.message_lines(page).filter(has_text=fragment)

    def message_lines(self, page: Page) -> Locator:
        raise NotImplementedError

    def users(self, page: Page) -> Locator:
        """One element per user in the current room, text = username, sorted."""
        return page.locator("#users li")

    def status(self, page: Page) -> Locator:
        return page.locator("#status")

    def transport(self, page: Page) -> str | None:
        """The socket's transport name if the page exposes it (``#status[data-transport]``)."""
        value = self.status(page).get_attribute("data-transport")
        return value or None

    def expect_connected(self, page: Page, timeout: float = UI_TIMEOUT) -> None:
        expect(self.status(page)).to_have_text(CONNECTED, timeout=timeout)

    def expect_not_connected(self, page: Page) -> None:
        expect(self.status(page)).not_to_have_text(CONNECTED, timeout=UI_TIMEOUT)

    def recover(self, page: Page, base_url: str, username: str, room: str) -> bool:
        """After a server restart: wait until the page is connected again (logging in again
        only when the example's login does not survive a restart) and back in ``room``.
        Returns whether a new login was needed."""
        self.expect_connected(page, RECONNECT_TIMEOUT)
        self.join(page, room)
        return False

    def contract_checks(self, context: BrowserContext, base_url: str) -> None:
        """Extra checks of the example's own promises (login errors, redirects)."""
