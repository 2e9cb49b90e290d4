"""Real message brokers for the tests: started per test session on loopback, ephemeral ports.

``redis_server`` (a pytest fixture, session scoped) starts ``redis-server`` in a temporary
folder with no persistence and yields a :class:`RedisProcess`; ``restart()`` / ``stop()``
let fault tests kill the broker and bring it back on the same port. Without the binary the
fixture skips on a laptop and fails under ``CI=true`` (the CI setup installs it).
``rabbitmq_server`` does the same with a ``rabbitmq-server`` node of its own (unique node
name, ephemeral AMQP/distribution/epmd ports, data in a temporary folder; about 4 s to
start) and yields a :class:`RabbitMQProcess` with the same ``url``/``stop``/``restart``.
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
                raise AssertionError(
                    f"{what} did not listen on port {port} in {timeout} s") from None
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


class RabbitMQProcess:
    """One ``rabbitmq-server`` node of its own (unique node name, ephemeral AMQP,
    distribution and epmd ports, data and logs in a temporary folder) that can be stopped
    and restarted on the same port."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.nodename = f"sio-test-{os.getpid()}-{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        (folder / "enabled_plugins").write_text("[].")
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            # a test broker on a busy CI machine: never block publishers for disk or memory
            "disk_free_limit.absolute = 1\n"
            "vm_memory_high_watermark.relative = 0.9\n")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        folder = str(self.folder)
        env.update({
            "HOME": folder,  # the Erlang cookie is written there
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": f"{folder}/mnesia",
            "RABBITMQ_LOG_BASE": f"{folder}/log",
            "RABBITMQ_CONFIG_FILE": f"{folder}/rabbitmq",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{folder}/enabled_plugins",
            "RABBITMQ_PID_FILE": f"{folder}/rabbitmq.pid",
            "RABBITMQ_LOGS": f"{folder}/log/rabbit.log",
            # fewer schedulers start faster on a small machine
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+S 2:2 +sbwt none",
        })
        return env

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [self.binary], env=self._env(), cwd=self.folder, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_port(self.port, 60, "rabbitmq-server")
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        """Kill the node at once (SIGKILL to its process group: a crash)."""
        if self.process is not None:
            import signal

            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
            self.process = None
            # the port must be free again before a restart binds it
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        pass
                except OSError:
                    break
                time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the node and its epmd daemon (started on our own port)."""
        self.stop()
        epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        if os.path.exists(epmd):
            subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10,
                           check=False)


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitMQProcess]:
    # Debian's /usr/sbin/rabbitmq-server is a wrapper that switches to the rabbitmq user
    # and drops our environment: run the real script
    real = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    binary = real if os.path.exists(real) else require_binary("rabbitmq-server")
    with tempfile.TemporaryDirectory(prefix="sio-rabbitmq-") as folder:
        server = RabbitMQProcess(binary, Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.close()
