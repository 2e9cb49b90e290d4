"""Reused threads for the threading mode's short jobs (one client's events, a close).

Starting a thread per burst of events cost more than the Socket.IO work itself on a busy
threaded server (about 37% of its CPU on the echo benchmark). A finished job's thread
waits here for the next one instead: a job is handed to an idle worker through that
worker's own lock, and a new thread starts only when no worker is idle (never capped, so a
handler that blocks never starves the others). Workers idle for ``IDLE_EXIT`` seconds exit.
Like on any pooled WSGI server, thread-locals carry over from one job to the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["IDLE_EXIT", "WorkerPool"]

#: seconds an idle worker waits for a job before its thread ends
IDLE_EXIT = 30.0

_log = logging.getLogger("sio_integrations.server")


class _Worker:
    __slots__ = ("job", "wake")

    def __init__(self, job: tuple[Callable[..., Any], tuple[Any, ...]]) -> None:
        self.job: tuple[Callable[..., Any], tuple[Any, ...]] | None = job
        self.wake = threading.Lock()
        self.wake.acquire()  # released by whoever hands this worker its next job


class WorkerPool:
    """Runs ``fn(*args)`` on an idle worker thread, or on a new one."""

    def __init__(self, thread_factory: Callable[..., threading.Thread]) -> None:  # noqa: D107
        self._thread_factory = thread_factory
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker((fn, args))
            self._thread_factory(target=self._serve, args=(worker,)).start()
        else:
            worker.job = (fn, args)
            worker.wake.release()

    def _serve(self, worker: _Worker) -> None:
        while True:
            job, worker.job = worker.job, None
            if job is not None:
                fn, args = job
                try:
                    fn(*args)
                except Exception:  # the job's own errors are its business; keep the thread
                    _log.exception("background job %r failed", fn)
                del job, fn, args  # nothing of the job is kept while idle
            with self._lock:
                self._idle.append(worker)
            if worker.wake.acquire(timeout=IDLE_EXIT):
                continue
            with self._lock:
                if worker in self._idle:  # nobody picked it meanwhile: retire
                    self._idle.remove(worker)
                    return
            worker.wake.acquire()  # picked just as it timed out: the job is coming
