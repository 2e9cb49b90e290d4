"""The test project as real servers (daphne or uvicorn subprocesses) and the node client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.services import IN_CI, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = Path(__file__).parent / "js"
SETTINGS = "tests.django_plugin.project.settings"


def require_tool(name: str) -> str:
    """The path of ``name``; skip without it on a laptop, fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is not installed; CI=true: required")
        pytest.skip(f"{name} is not installed")
    return path


def node_modules() -> Path:
    """``js/node_modules``, installed with ``npm install --no-package-lock`` if missing."""
    modules = JS_DIR / "node_modules"
    if not (modules / "socket.io-client").is_dir():
        npm = require_tool("npm")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                       cwd=JS_DIR, check=True, timeout=180, capture_output=True)
    return modules


def run_node(scenario: str, *urls: str) -> dict[str, Any]:
    node = require_tool("node")
    node_modules()
    done = subprocess.run([node, str(JS_DIR / "client.js"), scenario, *urls],
                          capture_output=True, text=True, timeout=90, cwd=JS_DIR)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def start_node(scenario: str, *urls: str) -> subprocess.Popen[str]:
    """The node client as a process, for scenarios that print ``READY`` mid-way."""
    node = require_tool("node")
    node_modules()
    return subprocess.Popen([node, str(JS_DIR / "client.js"), scenario, *urls],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=JS_DIR)


def read_line(process: subprocess.Popen[str]) -> str:
    """The next stdout line of ``process`` (the node scripts end themselves within 45 s)."""
    assert process.stdout is not None
    return process.stdout.readline().strip()


def manage(db: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m django <args>`` in the test project."""
    return subprocess.run([sys.executable, "-m", "django", *args], env=project_env(db, **env),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def project_env(db: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": SETTINGS, "SIO_TEST_DB": db,
                "PYTHONPATH": str(ROOT)}, **extra)
    env.pop("SIO_TEST_REDIS", None)
    env.update(extra)
    return env


def migrated_db() -> str:
    """A new SQLite file with the project's tables (migrated in a subprocess)."""
    db = str(Path(tempfile.mkdtemp(prefix="sio-django-live-")) / "db.sqlite3")
    subprocess.run([sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
                   env=project_env(db), cwd=ROOT, check=True, timeout=120)
    return db


@contextmanager
def serve(kind: str, db: str, **env: str) -> Iterator[str]:
    """Run the project under ``kind`` (``daphne`` or ``uvicorn``); yields its base URL."""
    port = free_port()
    app = "tests.django_plugin.project.asgi:application"
    if kind == "daphne":
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    else:
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
                   "--port", str(port), "--lifespan", "off", "--log-level", "warning"]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=project_env(db, **env), cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, 60, kind)
        except AssertionError:
            log.seek(0)
            raise AssertionError(f"{kind} did not start:\n{log.read().decode()}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
        log.close()
