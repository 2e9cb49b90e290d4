"""Real message brokers for the tests: started per test session on loopback, ephemeral ports.

``redis_server`` (a pytest fixture, session scoped) starts ``redis-server`` in a temporary
folder with no persistence and yields a :class:`RedisProcess`; ``restart()`` / ``stop()``
let fault tests kill the broker and bring it back on the same port. Without the binary the
fixture skips on a laptop and fails under ``CI=true`` (the CI setup installs it).
Import the fixtures in a ``conftest.py`` with ``from tests.services import redis_server``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


def require_binary(name: str) -> str:
    """The path of ``name``; skips when missing, fails instead under ``CI=true``."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/lib/rabbitmq/bin/{name}") if os.path.exists(p)),
        None,
    )
    if path is None:
        why = f"{name} is not installed (scripts/test.sh installs it)"
        if IN_CI:
            pytest.fail(f"{why}; CI=true: required")
        pytest.skip(why)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen on port {port} in {timeout} s")
            time.sleep(0.02)


class RedisProcess:
    """One ``redis-server`` on 127.0.0.1:``port`` that can be stopped and restarted."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder),
             "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 10, "redis-server")

    def stop(self) -> None:
        """Kill the broker at once (SIGKILL: what a crash looks like to clients)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def flush(self) -> None:
        """Drop every key (tests share one server)."""
        import redis

        with redis.Redis.from_url(self.url) as client:
            client.flushall()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    binary = require_binary("redis-server")
    with tempfile.TemporaryDirectory(prefix="sio-redis-") as folder:
        server = RedisProcess(binary, Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()
