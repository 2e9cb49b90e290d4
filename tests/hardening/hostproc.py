"""A Socket.IO host process (``tests/hardening/close_app.py``) whose output a test reads."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.runtime.live import free_port

ROOT = Path(__file__).resolve().parents[2]


class Host:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.close_app", kind, str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("READY", 30)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends at EOF when the process exits
            self.output.append(line)
            self.lines.put((time.monotonic(), line.strip()))

    def wait_for(self, prefix: str, timeout: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {prefix!r} line in {timeout} s:\n"
                                     + "".join(self.output[-40:]))
            try:
                when, line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return when, line

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        return False
    return True
