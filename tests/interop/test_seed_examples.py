"""Seed examples: python-socketio programs that must run on ours after one edit.

Each program under ``seed_examples/`` is copied to a temporary directory and run
either unchanged (python-socketio, proving it is a valid program for it) or with
``import socketio`` rewritten to ``import sio_integrations as socketio`` (ours).
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest
import requests

from tests.interop.harness import (
    HERE,
    IMPL,
    TRANSPORTS,
    ServerProcess,
    child_env,
    run_js_many,
    scenario_result,
)

pytestmark = pytest.mark.timeout(90)

SEEDS = {
    # name: (line the host prints once listening, static files to fetch)
    "eventlet_chat": (r"wsgi starting up on http://127\.0\.0\.1:(\d+)",
                      ["/", "/static/chat.js"]),
    "aiohttp_chat": (r"Running on http://127\.0\.0\.1:(\d+)", ["/"]),
}
ORIGINAL = "import socketio\n"
REWRITTEN = "import sio_integrations as socketio\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(seed: str, variant: str, tmp_path: Path) -> Path:
    target = tmp_path / seed
    shutil.copytree(HERE / "seed_examples" / seed, target)
    app = target / "app.py"
    source = app.read_text()
    assert source.count(ORIGINAL) == 1, "a seed imports socketio exactly once"
    if variant == "rewritten":
        app.write_text(source.replace(ORIGINAL, REWRITTEN))
    return target


@pytest.mark.parametrize("variant", ["unchanged", "rewritten"])
@pytest.mark.parametrize("seed", list(SEEDS))
def test_seed_example(seed: str, variant: str, tmp_path: Path, node: str) -> None:
    if variant == "rewritten" and IMPL != "ours":
        pytest.skip("the rewritten seed runs on ours only")
    workdir = prepare(seed, variant, tmp_path)
    port_pattern, pages = SEEDS[seed]
    env = child_env(PORT=str(free_port()), HOST="127.0.0.1")
    server = ServerProcess(f"seed-{seed}-{variant}", [sys.executable, "app.py"], env=env,
                           cwd=workdir, port_pattern=port_pattern)
    try:
        for page in pages:
            r = requests.get(server.url + page, timeout=10)
            assert r.status_code == 200, (page, r.status_code, server.tail())
            expected = (workdir / ("index.html" if page == "/" else page.lstrip("/"))).read_text()
            assert r.text == expected, page
        batches = run_js_many(node, [(server.url, t, ["seed_chat"]) for t in TRANSPORTS])
        for transport, results in zip(TRANSPORTS, batches, strict=True):
            r = scenario_result(results, "seed_chat", server)
            line = {"from": "alice", "text": "hello from a"}
            assert r == {"ack": ["delivered"], "a_got": line, "b_got": line}, transport
        assert server.alive()
    finally:
        server.stop()
