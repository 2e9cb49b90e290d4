"""Which tools the browser tests need, and what happens when one is missing."""

from __future__ import annotations

import os
import shutil

import pytest

CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip on a laptop without the tool; under CI a missing tool is a failure."""
    if CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Debian's chromium (never a downloaded browser); SIO_CHROMIUM overrides."""
    for candidate in (os.environ.get("SIO_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None
