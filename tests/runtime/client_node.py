"""Run the JS socket.io server (tests/runtime/client_js/server.js) under node for client tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent / "client_js"
IN_CI = os.environ.get("CI") == "true"
_npm_lock = threading.Lock()


def need(condition: bool, why: str) -> None:
    """Skip when a tool is missing, but fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: required)")
    pytest.skip(why)


def find_node() -> str:
    """Path of node, with the server's npm packages installed."""
    node_bin = shutil.which("node")
    need(node_bin is not None, "node is not installed")
    assert node_bin is not None
    wanted = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    with _npm_lock:
        if not all((JS_DIR / "node_modules" / name).is_dir() for name in wanted):
            npm = shutil.which("npm")
            need(npm is not None, "npm is not installed")
            assert npm is not None
            subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                           cwd=JS_DIR, check=True, timeout=300)
    return node_bin


class NodeServer:
    """One node process; ``start()`` again after ``kill()`` reuses the same port."""

    def __init__(self, **env: Any) -> None:
        self.node = find_node()
        self.env = {key.upper(): str(value) for key, value in env.items()}
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10) -> NodeServer:
        env = dict(os.environ, **self.env, PORT=str(self.port))
        proc = subprocess.Popen([self.node, str(JS_DIR / "server.js")], cwd=JS_DIR, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        self.proc = proc
        ready = threading.Event()
        line: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            line.append(proc.stdout.readline())
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not line[0].startswith("PORT "):
            self.kill()
            raise RuntimeError(f"node server did not start: {line!r}")
        self.port = int(line[0].split()[1])
        return self

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def pause(self) -> None:
        """SIGSTOP: the sockets stay open but nothing answers (a hung server)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def __enter__(self) -> NodeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.resume()
        self.kill()
