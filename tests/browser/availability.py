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
    """Debian's chromium (never a downloaded browser); SIO_CHROMIUM, when set, is the only
    candidate (so the missing-browser path can be tried on a machine that has one)."""
    configured = os.environ.get("SIO_CHROMIUM")
    candidates = [configured] if configured else [
        "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
