"""The npm packages of tests/flask_plugin/js (installed on first use) and node runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

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
    if not (modules / "socket.io-client").is_dir():
        npm = require_tool("npm")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                       cwd=JS_DIR, check=True, timeout=180, capture_output=True)
    return modules


def run_scenario(script: Path, base_url: str, scenario: str) -> dict[str, Any]:
    """Run ``node script base_url scenario`` and return the JSON line it printed."""
    node = require_tool("node")
    done = subprocess.run([node, str(script), base_url, scenario], capture_output=True,
                          text=True, timeout=60, cwd=script.parent)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    return result
