"""``socketio.run()`` as a process: SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

from ..services import free_port
from .livesrv import serve


def test_sigterm_stops_run_cleanly(tmp_path: Path) -> None:
    args = ["-m", "tests.flask_plugin.live_server", str(free_port()), str(tmp_path)]
    with serve(args) as url:
        with urllib.request.urlopen(url + "/socket.io/?EIO=4&transport=polling",
                                    timeout=10) as response:
            assert response.read().startswith(b"0{")
        url.process.send_signal(signal.SIGTERM)
        # serve_forever returned and the interpreter exited normally (not killed: -15)
        assert url.process.wait(20) == 0


def test_debug_runs_the_reloader(tmp_path: Path) -> None:
    watched = Path(__file__).with_name("apps.py")
    args = ["-m", "tests.flask_plugin.live_server", str(free_port()), str(tmp_path), "debug"]
    with serve(args) as url:
        with urllib.request.urlopen(url + "/reloader", timeout=10) as response:
            assert response.read() == b"true"  # served by the reloader's child
        with urllib.request.urlopen(url + "/socket.io/?EIO=4&transport=polling",
                                    timeout=10) as response:
            assert response.read().startswith(b"0{")
        announced = sum("running on" in line for line in url.output)
        stat = watched.stat()
        os.utime(watched, (stat.st_atime, stat.st_mtime + 5))  # a source file "changed"
        try:
            deadline = time.monotonic() + 30
            while sum("running on" in line for line in url.output) <= announced:
                assert time.monotonic() < deadline, "".join(url.output)
                time.sleep(0.1)
        finally:
            os.utime(watched, (stat.st_atime, stat.st_mtime))
