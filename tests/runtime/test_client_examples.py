"""example_projects/client_examples: python-socketio programs that run on our package after
rewriting only their import line (and, as written, with python-socketio against our server)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .live import run_asgi

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_projects" / "client_examples"
IMPORT = re.compile(r"^import socketio$", re.MULTILINE)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    spec = importlib.util.spec_from_file_location("client_examples_server",
                                                  EXAMPLES / "server.py")
    assert spec is not None and spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with run_asgi(module.app) as url:
        yield url


def run(script: Path, url: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(script), url, "3"], capture_output=True,
                          text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", ["sync_client.py", "async_client.py"])
def test_example_runs_with_only_the_import_rewritten(tmp_path: Path, server_url: str,
                                                     name: str) -> None:
    source = (EXAMPLES / name).read_text()
    assert len(IMPORT.findall(source)) == 1
    ported = IMPORT.sub("import sio_integrations as socketio", source)
    assert [line for line in ported.splitlines() if line not in source.splitlines()] == [
        "import sio_integrations as socketio"]
    script = tmp_path / name
    script.write_text(ported)
    out = run(script, server_url)
    assert "the server says 2 + 3 = 5" in out
    assert out.count("round trip:") == 3
    assert out.strip().endswith("disconnected: client disconnect")


@pytest.mark.parametrize("name", ["sync_client.py", "async_client.py"])
def test_example_as_written_runs_on_python_socketio(tmp_path: Path, server_url: str,
                                                    name: str) -> None:
    pytest.importorskip("socketio")
    out = run(EXAMPLES / name, server_url)
    assert "the server says 2 + 3 = 5" in out and out.count("round trip:") == 3
