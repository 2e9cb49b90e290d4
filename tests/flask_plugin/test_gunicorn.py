"""The production recipes of docs/flask.md: Gunicorn with gthread and gevent workers."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from ..services import free_port
from .livesrv import serve
from .nodejs import JS_DIR, node_modules, run_scenario


@pytest.mark.parametrize(("worker", "mode"), [
    (["-k", "gthread", "--threads", "32"], "threading"),
    (["-k", "gevent"], "gevent"),
])
def test_gunicorn_worker(worker: list[str], mode: str, tmp_path: Path) -> None:
    node_modules()
    args = ["-m", "gunicorn", "-w", "1", *worker, "-b", f"127.0.0.1:{free_port()}",
            "tests.flask_plugin.wsgi_app:app"]
    with serve(args, env={"FLASK_SIO_SESSION_DIR": str(tmp_path)}) as url:
        with urllib.request.urlopen(url + "/mode", timeout=10) as response:
            assert response.read().decode() == mode  # followed the worker, unconfigured
        result = run_scenario(JS_DIR / "client.js", url, "login")
        assert result["before"] == ["alice", "alice", None]
        assert result["upgraded"] == "websocket"
        assert result["after"] == [None, None]
        assert run_scenario(JS_DIR / "client.js", url, "origin-websocket")["connected"] is False
