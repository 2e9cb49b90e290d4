"""Reused threads for the threading mode's short jobs (one client's events, a close).

Starting a thread per burst of events cost more than the Socket.IO work itself on a busy
threaded server (about 37% of its CPU on the echo benchmark). A finished job's thread
waits here for the next one instead: a job is handed to an idle worker through that
worker's own lock, and a new thread starts only when no worker is idle (never capped, so a
handler that blocks never starves the others). Workers idle for ``IDLE_EXIT`` seconds exit.
Like on any pooled WSGI server, thread-locals carry over from one job to the next.

A thread can wait for the jobs it handed out (:func:`wait_for_jobs_started_here`): the
direct websocket reader (:mod:`.wsgi_direct`) does so before it answers the peer's close
frame, so the replies to the events it read just before are written first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["IDLE_EXIT", "WorkerPool", "forget_jobs_started_here", "wait_for_jobs_started_here"]

#: seconds an idle worker waits for a job before its thread ends
IDLE_EXIT = 30.0
# tickets a thread keeps before the finished ones are dropped
_TICKETS_KEPT = 8

_log = logging.getLogger("sio_integrations.server")
# per submitting thread: ``tickets``, a list of (pool, worker, job number) it handed out
_local = threading.local()


class _Worker:
    __slots__ = ("finished", "job", "started", "wake")

    def __init__(self, job: tuple[Callable[..., Any], tuple[Any, ...]]) -> None:
        self.job: tuple[Callable[..., Any], tuple[Any, ...]] | None = job
        self.wake = threading.Lock()
        self.wake.acquire()  # released by whoever hands this worker its next job
        self.started = 1  # jobs handed to this worker (only its submitter counts, idle)
        self.finished = 0  # jobs it ran to the end (under the pool's lock)


class WorkerPool:
    """Runs ``fn(*args)`` on an idle worker thread, or on a new one."""

    def __init__(self, thread_factory: Callable[..., threading.Thread]) -> None:  # noqa: D107
        self._thread_factory = thread_factory
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)  # a job finished (only if waited for)
        self._waiters = 0

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker((fn, args))
            ticket = (self, worker, 1)
            self._thread_factory(target=self._serve, args=(worker,)).start()
        else:
            worker.started += 1  # no lock: nobody else can hand a job to a popped worker
            ticket = (self, worker, worker.started)
            worker.job = (fn, args)
            worker.wake.release()
        try:
            tickets: list[tuple[WorkerPool, _Worker, int]] = _local.tickets
        except AttributeError:
            tickets = _local.tickets = []
        if len(tickets) >= _TICKETS_KEPT:
            tickets[:] = [t for t in tickets if t[1].finished < t[2]]
        tickets.append(ticket)

    def _wait(self, worker: _Worker, number: int, deadline: float) -> bool:
        with self._lock:
            self._waiters += 1
            try:
                while worker.finished < number:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._done.wait(remaining)
            finally:
                self._waiters -= 1
        return True

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
                worker.finished = worker.started
                if self._waiters:
                    self._done.notify_all()
                self._idle.append(worker)
            if worker.wake.acquire(timeout=IDLE_EXIT):
                continue
            with self._lock:
                if worker in self._idle:  # nobody picked it meanwhile: retire
                    self._idle.remove(worker)
                    return
            worker.wake.acquire()  # picked just as it timed out: the job is coming


def wait_for_jobs_started_here(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds until every job this thread handed to a pool (since
    :func:`forget_jobs_started_here`) has finished; False if some had not by then."""
    tickets: list[tuple[WorkerPool, _Worker, int]] | None = getattr(_local, "tickets", None)
    if not tickets:
        return True
    deadline = time.monotonic() + timeout
    while tickets:
        pool, worker, number = tickets[-1]
        if not pool._wait(worker, number, deadline):
            return False
        tickets.pop()
    return True


def forget_jobs_started_here() -> None:
    """Stop tracking this thread's earlier jobs (a pooled request thread starting on
    another connection must not wait for the previous one's)."""
    _local.tickets = []
