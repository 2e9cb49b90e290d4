"""Node and the npm packages of tests/sanic_plugin/js (shared with tests/tornado_plugin),
and real test servers run as subprocesses."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).parent / "js"
ROOT = Path(__file__).resolve().parents[2]


def require_tool(name: str) -> str:
    """The path of ``name``; skip without it on a laptop, fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def npm_install(folder: Path) -> None:
    """``npm install --no-package-lock`` in ``folder`` unless socket.io-client is there."""
    if not (folder / "node_modules" / "socket.io-client").is_dir():
        npm = require_tool("npm")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                       cwd=folder, check=True, timeout=300, capture_output=True)


def run_scenario(base_url: str, scenario: str, *cookies: str) -> dict[str, Any]:
    """Run one scenario of js/client.js; its JSON result (fails on a client error)."""
    node = require_tool("node")
    npm_install(JS_DIR)
    done = subprocess.run([node, str(JS_DIR / "client.js"), base_url, scenario, *cookies],
                          capture_output=True, text=True, timeout=60, cwd=JS_DIR)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    return result


@contextmanager
def server_process(args: list[str], *, ready: int = 1, env: dict[str, str] | None = None,
                   timeout: float = 60, marker: str = "READY") -> Iterator[list[str]]:
    """Run ``python args...`` until it printed ``ready`` lines containing ``marker``;
    yields those lines. Its output keeps being drained (a full pipe would block it).
    Stopped with SIGTERM (then killed) at the end."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environment, cwd=ROOT)
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < ready:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:  # exited, or too slow
                proc.kill()
                pytest.fail(f"server did not start: {' '.join(args)}\n{''.join(output[-40:])}")
            output.append(line)
            if marker in line:
                seen.append(line.strip())
        yield seen
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
