"""SIGTERM on a real uvicorn process: stop accepting, flush, say why, exit in time."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import requests
import websocket

from tests.browser.servers import ServerProcess, free_port, python_argv
from tests.runtime.live import wait_until

GRACE = 3.0


def _server(tmp_path: Path, grace: float | None = GRACE) -> ServerProcess:
    port = free_port()
    return ServerProcess("shutdown_app", python_argv(
        "-m", "uvicorn", "tests.hardening.shutdown_app:app", "--host", "127.0.0.1",
        "--port", str(port), "--timeout-graceful-shutdown", "10"), port=port,
        log_path=tmp_path / "server.log",
        env={"SHUTDOWN_GRACE": "" if grace is None else str(grace)},
        ready_line=rf"Uvicorn running on http://127\.0\.0\.1:{port}",
        probe_path="/socket.io/?EIO=4&transport=polling")


class Reader:
    """A websocket Socket.IO client that records every frame until the connection ends."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
            timeout=15)
        assert self.ws.recv().startswith("0{")
        self.ws.send("40")
        assert self.ws.recv().startswith("40{")
        self.frames: list[Any] = []
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                frame = self.ws.recv()
                if frame in ("", None):
                    break
                self.frames.append(frame)
        except Exception:
            pass
        self.ended.set()


def test_sigterm_flushes_then_disconnects_with_a_reason(tmp_path: Path) -> None:
    server = _server(tmp_path)
    server.start()
    try:
        client = Reader(server.url)
        # a long-polling client too, waiting in a GET when the signal arrives
        r = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
        sid = json.loads(r.text[1:])["sid"]
        poll_url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
        assert requests.post(poll_url, data="40", timeout=5).text == "ok"
        assert requests.get(poll_url, timeout=5).text.startswith("40{")
        polled: list[str] = []
        poller = threading.Thread(
            target=lambda: polled.append(requests.get(poll_url, timeout=15).text))
        poller.start()
        # 2,000 events emitted; the signal is sent as soon as the burst is acknowledged
        client.ws.send('421["burst",2000]')
        wait_until(lambda: "431[2000]" in client.frames, 15, "the burst to be emitted")
        assert server.proc is not None
        start = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        # new connections are refused at once (or the port is closed already)
        try:
            refused = requests.get(server.url + "/socket.io/?EIO=4&transport=polling",
                                   timeout=5)
            assert refused.status_code == 503, refused.text
        except requests.ConnectionError:
            pass
        assert client.ended.wait(GRACE + 5), "the websocket was never closed"
        events = [f for f in client.frames if isinstance(f, str) and f.startswith('42["n"')]
        assert events == [f'42["n",{i}]' for i in range(2000)]  # every one, in order
        assert client.frames[-1] == "1"  # Engine.IO close: the server said goodbye
        poller.join(GRACE + 5)
        assert polled and polled[0].split("\x1e")[-1] == "1", polled
        code = server.proc.wait(GRACE + 10)
        elapsed = time.monotonic() - start
        assert elapsed < GRACE + 10, elapsed
        assert code in (0, -signal.SIGTERM), code
        log = server.log_tail(200)
        assert log.count("DISCONNECT server shutting down") == 2, log
    finally:
        server.kill()


def test_without_shutdown_grace_the_host_just_drops_connections(tmp_path: Path) -> None:
    """The control: uvicorn alone fails websockets with 1012 before the application's
    shutdown runs, so clients are never told why (what ``shutdown_grace`` fixes)."""
    server = _server(tmp_path, grace=None)
    server.start()
    try:
        client = Reader(server.url)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        assert client.ended.wait(10)
        assert "1" not in client.frames
        server.proc.wait(15)
        assert "DISCONNECT server shutting down" not in server.log_tail(200)
    finally:
        server.kill()
