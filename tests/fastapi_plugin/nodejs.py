"""The npm packages of tests/fastapi_plugin/js (installed on first use)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"


def require_tool(name: str) -> str:
    """The path of ``name``; skip without it on a laptop, fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def node_modules() -> Path:
    """``js/node_modules``, running ``npm install --no-package-lock`` when it is missing."""
    modules = JS_DIR / "node_modules"
    if not (modules / "socket.io-client").is_dir() or not (modules / "@asyncapi").is_dir():
        npm = require_tool("npm")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                       cwd=JS_DIR, check=True, timeout=180, capture_output=True)
    return modules
