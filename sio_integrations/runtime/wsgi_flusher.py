"""The flusher of the threading direct websocket path (:mod:`.wsgi_direct`).

One daemon thread, started with the first connection that needs it, for every connection:
it writes out the backlog a connection's writers left when the kernel's socket buffer was
full (when the socket becomes writable again), and shuts down connections whose close
handshake is not over by their deadline, which wakes their reading thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import select
import threading
import time
from typing import Protocol

logger = logging.getLogger("sio_integrations.engine")


class Backlogged(Protocol):
    """What the flusher needs from a connection (all thread-safe)."""

    def backlog_fileno(self) -> int:
        """The socket's descriptor, or -1 once the host owns it again."""

    def flush_backlog(self) -> None:
        """Write what the kernel takes now; once nothing is left, call
        :meth:`_Flusher.forget` while still holding the lock that ``watch`` is called
        under (so a backlog started meanwhile is never forgotten)."""

    def expire(self) -> None:
        """The close deadline passed: shut the socket down."""


class _Flusher:
    """One daemon thread for every direct websocket: writes backlogs out when their socket
    is writable, and shuts down connections whose close handshake ran out of time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: set[Backlogged] = set()
        self._deadlines: list[tuple[float, int, Backlogged]] = []
        self._order = itertools.count()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._woken = False
        threading.Thread(target=self._run, name="sio-websocket-flusher", daemon=True).start()

    def watch(self, ws: Backlogged) -> None:
        with self._lock:
            self._watched.add(ws)
            self._wake()

    def expire(self, ws: Backlogged, deadline: float) -> None:
        with self._lock:
            heapq.heappush(self._deadlines, (deadline, next(self._order), ws))
            self._wake()

    def _wake(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:
                pass

    def forget(self, ws: Backlogged) -> None:
        with self._lock:
            self._watched.discard(ws)

    def _run(self) -> None:
        while True:
            try:
                self._loop()
            except Exception:  # never leave backlogs unflushed because of one bad round
                logger.exception("websocket flusher failed; restarting it")
                time.sleep(0.1)

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        registered: dict[int, Backlogged] = {}
        while True:
            with self._lock:
                self._woken = False
                watched = list(self._watched)
                timeout = (self._deadlines[0][0] - time.monotonic()
                           if self._deadlines else None)
            wanted: dict[int, Backlogged] = {}
            for ws in watched:
                fd = ws.backlog_fileno()
                if fd < 0:
                    self.forget(ws)
                else:
                    wanted[fd] = ws
            for fd in set(registered) - set(wanted):
                poller.unregister(fd)
            for fd in set(wanted) - set(registered):
                poller.register(fd, select.POLLOUT)
            registered = wanted
            events = poller.poll(None if timeout is None else max(timeout, 0) * 1000)
            for fd, _mask in events:
                if fd == self._wake_r:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                ready = registered.get(fd)
                if ready is not None:
                    ready.flush_backlog()
            self._run_deadlines(time.monotonic())

    def _run_deadlines(self, now: float) -> None:
        due: list[Backlogged] = []
        with self._lock:
            while self._deadlines and self._deadlines[0][0] <= now:
                due.append(heapq.heappop(self._deadlines)[2])
        for ws in due:
            ws.expire()


_flusher_instance: _Flusher | None = None
_flusher_lock = threading.Lock()


def flusher() -> _Flusher:
    global _flusher_instance
    flusher = _flusher_instance
    if flusher is None:
        with _flusher_lock:
            if _flusher_instance is None:
                _flusher_instance = _Flusher()
            flusher = _flusher_instance
    return flusher
