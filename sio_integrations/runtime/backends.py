"""Concurrency primitives the engine shell needs, one backend per world.

The shell is written once for asyncio; its synchronous twin is generated. Whatever
differs between the worlds (spawning, sleeping, events, mutual exclusion) goes through a
backend so the two shells stay token-for-token the same: ``await self.backend.sleep(1)``
becomes ``self.backend.sleep(1)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from .eager import start_eagerly
from .workers import WorkerPool

#: what ``within`` returns when the time ran out
TIMED_OUT: Any = object()


class Mutex(Protocol):
    """A context manager guarding a few lines of bookkeeping (never held across I/O)."""

    def __enter__(self) -> Any: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> Any: ...


class _NoMutex:
    """Nothing to exclude: asyncio (and cooperative green threads) never switch inside it."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> None:
        return None


_NO_MUTEX = _NoMutex()


class AsyncBackend:
    """asyncio: tasks, ``asyncio.sleep`` and ``asyncio.Event``."""

    name = "asyncio"

    def __init__(self) -> None:
        # strong references: the event loop only keeps weak ones to running tasks
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(fn(*args, **kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def event(self) -> asyncio.Event:
        return asyncio.Event()

    async def wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait until ``event`` is set or ``timeout`` passes; True when it was set."""
        if event.is_set():
            return True
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def within(self, awaitable: Any, timeout: float) -> Any:
        """The awaitable's result, or :data:`TIMED_OUT` after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except asyncio.TimeoutError:
            return TIMED_OUT

    async def join(self, task: Any) -> None:
        with contextlib.suppress(BaseException):
            await task

    def start(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> asyncio.Task[Any]:
        """Like :meth:`spawn` for the engine's own short tasks: the caller keeps the
        reference (no bookkeeping callback per task, this is the per-burst hot path)."""
        return asyncio.get_running_loop().create_task(fn(*args))

    def run_soon(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        """Run ``fn(*args)`` now, up to its first real wait; a task finishes the rest.

        Returns the task, or None when the coroutine completed without waiting.
        """
        task = start_eagerly(fn(*args))
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    def mutex(self) -> Mutex:
        # an uncontended C lock costs less than a Python no-op context manager, and is
        # never held across an await
        lock: Mutex = threading.Lock()
        return lock

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


class SyncBackend:
    """Threads or green threads, from the classes an engineio sync driver provides."""

    def __init__(
        self,
        name: str = "threading",
        *,
        thread_class: Callable[..., Any] | None = None,
        event_class: Callable[[], Any] | None = None,
        sleep: Callable[[float], Any] | None = None,
        cooperative: bool = False,
    ) -> None:
        self.name = name
        self._thread_class = thread_class or _daemon_thread
        self._event_class = event_class or threading.Event
        self._sleep = sleep or time.sleep
        # green threads only switch on I/O, so a bookkeeping section needs no lock
        self._cooperative = cooperative
        # real threads are expensive to start: short jobs reuse them (runtime/workers.py)
        self._pool = None if cooperative else WorkerPool(self._thread_class)

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        thread = self._thread_class(target=fn, args=args, kwargs=kwargs)
        thread.start()
        return thread

    def start(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.spawn(fn, *args)

    def run_soon(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on another thread (a reused one, or a green thread) so the
        caller never waits."""
        if self._pool is None:
            return self.spawn(fn, *args)
        self._pool.run(fn, *args)
        return None

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def event(self) -> Any:
        return self._event_class()

    def wait_event(self, event: Any, timeout: float) -> bool:
        if event.is_set():
            return True
        return bool(event.wait(timeout))

    def within(self, value: Any, timeout: float) -> Any:
        """The twin of ``AsyncBackend.within``: a blocking call has already returned its
        value here (bounding it is the WSGI server's socket timeout)."""
        return value

    def join(self, task: Any) -> None:
        if task is not None and task is not threading.current_thread():
            with contextlib.suppress(Exception):
                task.join()

    def mutex(self) -> Mutex:
        if self._cooperative:
            return _NO_MUTEX
        lock: Mutex = threading.Lock()
        return lock

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


def _daemon_thread(
    target: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> threading.Thread:
    return threading.Thread(target=target, args=args, kwargs=kwargs or {}, daemon=True)
