"""Helpers for the interop suite: server subprocesses and the node harness.

``SIO_IMPL`` selects the server implementation under test: ``ours`` (default,
``sio_integrations``) or ``reference`` (python-socketio), so the tests can be
checked against the reference first. Each server runs in its own process,
announces its port on stdout, and is killed at the end of the session.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVERS = HERE / "servers"
JS_DIR = HERE / "js"
IMPL = os.environ.get("SIO_IMPL", "ours")
IN_CI = os.environ.get("CI") == "true"
TRANSPORTS = ("polling", "websocket", "upgrade")

ours_only = pytest.mark.skipif(
    IMPL != "ours", reason="deliberate difference from python-socketio: checked on ours only"
)


def need(condition: bool, why: str) -> None:
    """Skip when a tool is missing, but fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: required)")
    pytest.skip(why)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), str(SERVERS), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    env["SIO_IMPL"] = IMPL
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies (Linux), so a killed
    pytest run leaves no servers behind."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ServerProcess:
    """A server subprocess whose output lines are watched for readiness."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        port_pattern: str = r"LISTENING (\d+)",
        ready_pattern: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"interop-{name}-"))
        self.log_path = self._log_dir / "server.log"
        self._log = self.log_path.open("w", encoding="utf-8", errors="replace")
        self._lines: queue.Queue[str] = queue.Queue()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env if env is not None else child_env(),
            cwd=str(cwd) if cwd else None,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        self.port = self._wait_ready(re.compile(port_pattern), ready_pattern, timeout)
        self.url = f"http://127.0.0.1:{self.port}"

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            self._lines.put(line)

    def _wait_ready(
        self, port_re: re.Pattern[str], ready_pattern: str | None, timeout: float
    ) -> int:
        ready_re = re.compile(ready_pattern) if ready_pattern else None
        port: int | None = None
        ready = ready_re is None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (port and ready):
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = port_re.search(line)
            if match and port is None:
                port = int(match.group(1))
            if ready_re is not None and ready_re.search(line):
                ready = True
        if port and ready:
            return port
        self.stop()
        raise RuntimeError(f"server {self.name} did not start:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> None:
        """Ask the server (and its workers: the whole process group) to stop."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, grace: float = 3.0) -> None:
        self.terminate()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                # a graceful shutdown may wait on open connections: not our concern here
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self._reader.join(timeout=2)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()
        self._log.close()


class ServerPool:
    """Session-wide servers, one per (mode, options), started on first use."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, str], ServerProcess] = {}
        self._lock = threading.Lock()

    def get(self, mode: str, **options: Any) -> ServerProcess:
        opts = [f"{k}={json.dumps(v)}" for k, v in sorted(options.items())]
        key = (mode, " ".join(opts))
        with self._lock:
            server = self._servers.get(key)
            if server is None or not server.alive():
                argv = [sys.executable, str(SERVERS / "run_server.py"), mode, IMPL, *opts]
                server = ServerProcess(f"{mode}-{IMPL}", argv)
                self._servers[key] = server
            return server

    def stop_all(self) -> None:
        servers = list(self._servers.values())
        for server in servers:
            server.terminate()
        deadline = time.monotonic() + 3
        for server in servers:
            server.stop(grace=max(0.1, deadline - time.monotonic()))
        self._servers.clear()


# -- node harness ---------------------------------------------------------------------

_npm_lock = threading.Lock()


def find_node() -> str:
    """Path of node, with the harness's npm packages installed."""
    node_bin = shutil.which("node")
    need(node_bin is not None, "node is not installed")
    assert node_bin is not None
    wanted = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    with _npm_lock:
        if not all((JS_DIR / "node_modules" / name).is_dir() for name in wanted):
            npm = shutil.which("npm")
            need(npm is not None, "npm is not installed")
            assert npm is not None
            subprocess.run(
                [npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                cwd=JS_DIR,
                check=True,
                timeout=300,
            )
    return node_bin


def start_js(node_bin: str, url: str, transport: str, scenarios: Sequence[str],
             parser: str | None = None) -> subprocess.Popen[str]:
    """Start the harness on one job; the job goes in now, so several run at once."""
    job = {"url": url, "transport": transport, "scenarios": list(scenarios), "timeout_ms": 25000,
           "parser": parser}
    return subprocess.Popen(
        [node_bin, str(JS_DIR / "client.js"), json.dumps(job)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=JS_DIR,
    )


def finish_js(proc: subprocess.Popen[str], timeout: float = 45.0) -> dict[str, dict[str, Any]]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    results: dict[str, dict[str, Any]] = {}
    done = False
    for line in out.split("\n"):  # not splitlines(): JSON may hold U+2028
        line = line.strip()
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        if item.get("done"):
            done = True
        else:
            results[item["scenario"]] = item
    if not done:
        results["__harness__"] = {"ok": False, "error": f"harness did not finish: {err[-3000:]}"}
    return results


def run_js_many(
    node_bin: str, jobs: Sequence[tuple[str, str, Sequence[str]]], parser: str | None = None
) -> list[dict[str, dict[str, Any]]]:
    """Run several harness jobs (url, transport, scenarios) concurrently."""
    handles = [start_js(node_bin, url, transport, names, parser)
               for url, transport, names in jobs]
    return [finish_js(h) for h in handles]


def scenario_result(
    results: dict[str, dict[str, Any]], name: str, server: ServerProcess | None = None
) -> Any:
    """The result of one scenario, failing with the harness and server output if it broke."""
    item = results.get(name) or results.get("__harness__") or {"ok": False, "error": "missing"}
    if not item.get("ok"):
        detail = f"\n--- server log tail ---\n{server.tail()}" if server else ""
        pytest.fail(f"JS scenario {name!r} failed: {item.get('error')}{detail}")
    return item["result"]


def b(data: bytes) -> dict[str, str]:
    """How the harness prints a binary value."""
    return {"$bin": data.hex()}
