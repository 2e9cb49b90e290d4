"""Example servers as real subprocesses on 127.0.0.1: start, wait until ready, kill, restart."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # Django migrations on a busy 2-core machine take a while
STOP_TIMEOUT = float(os.environ.get("SIO_BROWSER_STOP_TIMEOUT", "15"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str, timeout: float = 5.0) -> int | None:
    """The HTTP status of a GET without following redirects, or None if nothing answers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


class ServerError(AssertionError):
    """The example server did not start or stop as it should (message carries its log)."""


class ServerProcess:
    """One example server: ``argv`` run in its own process group, output kept in ``log_path``.

    ``ready_line`` (a regex) must appear in the output and ``probe_path`` must answer HTTP
    before the server counts as ready. The port stays the same across restarts.
    """

    def __init__(self, name: str, argv: Sequence[str], *, port: int, log_path: Path,
                 cwd: Path = ROOT, env: dict[str, str] | None = None,
                 ready_line: str | None = None, probe_path: str = "/") -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        # the package importable even without an install, keeping the caller's path first
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (self.env.get("PYTHONPATH"), str(ROOT)) if p)
        self.ready_line = re.compile(ready_line) if ready_line else None
        self.probe_path = probe_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.output: deque[str] = deque(maxlen=500)  # the latest lines, for error messages
        self.starts = 0
        self._ready_seen = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return "".join(list(self.output)[-lines:]) or "(no output)"

    def _fail(self, what: str) -> ServerError:
        return ServerError(f"{self.name}: {what}\n--- its output ({self.log_path}) ---\n"
                           f"{self.log_tail()}")

    def _log(self, text: str) -> None:
        self.output.append(text)
        try:  # best effort: the pipe must be drained even if the artifacts folder is gone
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(text)
        except OSError:
            pass

    def _read_output(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:  # ends when every holder of the pipe has exited
            line = raw.decode(errors="replace")
            self._log(line)
            if self.ready_line and self.ready_line.search(line):
                self._ready_seen.set()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start and wait until ready; retry a bounded time while the port is still taken."""
        deadline = time.monotonic() + timeout
        while True:
            self._spawn()
            try:
                self._wait_ready(deadline)
                return
            except ServerError:
                exited = self.proc is not None and self.proc.poll() is not None
                busy = "address already in use" in self.log_tail(15).lower()
                if not (exited and busy and time.monotonic() < deadline):
                    self.kill()
                    raise
            self.kill()

    def _spawn(self) -> None:
        self.starts += 1
        self._ready_seen.clear()
        self._log(f"\n=== start #{self.starts}: {' '.join(self.argv)}\n")
        # Own session: the whole group (an autoreloader's child too) is ours to stop.
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self._reader = threading.Thread(target=self._read_output, args=(self.proc,),
                                        daemon=True, name=f"log-{self.name}")
        self._reader.start()

    def _wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        if self.ready_line is not None:
            while not self._ready_seen.wait(0.1):
                if self.proc.poll() is not None:
                    raise self._fail(f"exited with {self.proc.returncode} before it was ready")
                if time.monotonic() > deadline:
                    raise self._fail(f"never printed a line matching {self.ready_line.pattern!r}")
        while http_status(self.url + self.probe_path, timeout=5) is None:
            if self.proc.poll() is not None:
                raise self._fail(f"exited with {self.proc.returncode} before answering HTTP")
            if time.monotonic() > deadline:
                raise self._fail(f"did not answer GET {self.probe_path}")
            time.sleep(0.1)  # bounded poll of a condition no event tells us about

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)  # the group we created: pgid == our child's pid
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the server's process group, like a crash."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
        self.proc = None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code (None if killed)."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code

    def restart(self) -> None:
        """Kill and start again on the same port."""
        self.kill()
        self.start()


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]
