"""example_projects/flask_chat under its own run.py, driven by the JS client."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from ..services import free_port
from .livesrv import ROOT, serve
from .nodejs import JS_DIR, node_modules, require_tool, run_scenario

EXAMPLE = ROOT / "example_projects" / "flask_chat"


def _example_client() -> None:
    if not (EXAMPLE / "node_modules" / "socket.io-client").is_dir():
        npm = require_tool("npm")
        subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
                       cwd=EXAMPLE, check=True, timeout=180, capture_output=True)


def test_flask_chat_example(tmp_path: Path) -> None:
    node_modules()
    _example_client()
    port = free_port()
    with serve([str(EXAMPLE / "run.py"), "--host", "127.0.0.1", "--port", str(port)]) as url:
        assert url == f"http://127.0.0.1:{port}"
        # the page and the client bundle are served by Flask itself
        with urllib.request.urlopen(url + "/login", timeout=10) as page:
            assert b'id="login-form"' in page.read()
        with urllib.request.urlopen(url + "/vendor/socket.io.min.js", timeout=10) as js:
            assert js.status == 200 and len(js.read()) > 10_000
        result = run_scenario(JS_DIR / "client.js", url, "example")
    assert result["wrong"] == 200  # the form again, with #login-error
    assert result["anonymous"] == "log in first"
    assert result["joinedAnn"] == {"ok": True, "room": "lobby", "users": ["ann"]}
    assert result["joinedBob"] == ["ann", "bob"]
    assert result["users"] == ["ann", "bob"]
    assert result["message"] == {"room": "lobby", "user": "bob", "text": "hello ann"}
    assert result["after"] == ["ann"]
