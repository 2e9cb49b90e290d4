"""Start ``socketio.run()`` in a subprocess and wait for the URL it announces."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)")


class Live(str):
    """The announced base URL, carrying the server's process."""

    process: subprocess.Popen[str]
    #: every line the process printed so far (appended to while it runs)
    output: list[str]


@contextmanager
def serve(args: Sequence[str], timeout: float = 60,
          env: dict[str, str] | None = None) -> Iterator[Live]:
    """Run ``python *args`` (cwd: the repository) and yield the announced base URL.

    Stdout is drained for the life of the process so it never blocks on a full pipe.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **(env or {}))
    # its own process group: a reloader's child is stopped with it
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    found: list[str] = []
    output: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout) or not found:
            raise AssertionError("server did not announce its URL:\n" + "".join(output))
        live = Live(found[0])
        live.process = process
        live.output = output
        yield live
    finally:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(15)
        _signal_group(process, signal.SIGKILL)  # whatever the group still holds
        reader.join(5)


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
