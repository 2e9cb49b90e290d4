"""``socketio.run()`` as a process: SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
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
