"""Headless Debian Chromium through Playwright, and where screenshots and logs go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .availability import chromium_path, unavailable

HERE = Path(__file__).resolve().parent


def artifacts_dir() -> Path:
    """Screenshots and server logs: $SIO_ARTIFACTS_DIR/browser or tests/browser/artifacts
    (git-ignored)."""
    configured = os.environ.get("SIO_ARTIFACTS_DIR")
    return Path(configured) / "browser" if configured else HERE / "artifacts"


@pytest.fixture(scope="package")
def artifacts_root() -> Path:
    root = artifacts_dir()
    root.mkdir(parents=True, exist_ok=True)
    return root


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = any(getattr(report, "nodeid", "").startswith("tests/browser/")
              for reports in terminalreporter.stats.values() for report in reports)
    if ran and artifacts_dir().is_dir():
        terminalreporter.write_line(f"browser screenshots and server logs: {artifacts_dir()}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        unavailable("no chromium executable (apt install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        unavailable("playwright (Python) is not installed")
    from .adapters.base import UI_TIMEOUT

    expect.set_options(timeout=UI_TIMEOUT)
    with sync_playwright() as playwright:
        # Playwright passes --no-sandbox itself (chromium_sandbox=False by default)
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              timeout=60_000)
        try:
            yield launched
        finally:
            launched.close()
