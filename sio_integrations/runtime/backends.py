"""Concurrency primitives the engine shell needs, one backend per world.

The shell is written once for asyncio; its synchronous twin is generated. Whatever
differs between the worlds (spawning, sleeping, events, mutual exclusion) goes through a
backend so the two shells stay token-for-token the same: ``await self.backend.sleep(1)``
becomes ``self.backend.sleep(1)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine
from functools import partial
from types import CoroutineType
from typing import Any, Protocol

from .eager import start_eagerly
from .workers import WorkerPool

#: what ``within`` returns when the time ran out
TIMED_OUT: Any = object()


class Follower:
    """Runs a coroutine from the callbacks of the futures it waits on: a task without the
    Task (no task object, no loop turn to start it, no current-task binding).

    The first step runs at once, in a copy of the caller's context (every step uses that
    copy, as a task's would). ``on_done(True, result)`` or ``on_done(False, exception)``
    is called once when the coroutine finishes; :meth:`close` stops following it first
    (the coroutine is closed: it must not await in its clean-up). Used where a task would
    only exist to be raced against a timer or a request's disconnect.
    """

    __slots__ = ("_coro", "_ctx", "_on_done", "_future", "_handle")

    def __init__(self, awaitable: Any, on_done: Callable[[bool, Any], object]) -> None:
        self._coro: Any = (
            awaitable if awaitable.__class__ is CoroutineType else awaitable.__await__()
        )
        self._ctx = contextvars.copy_context()
        self._on_done = on_done
        self._future: Any = None
        self._handle: asyncio.Handle | None = None
        self._ctx.run(self._step)

    @property
    def running(self) -> bool:
        """Whether the coroutine has neither finished nor been closed."""
        return self._coro is not None

    def _wake(self, future: Any) -> None:
        # (a wake-up scheduled before close() or poll() took care of this future is stale)
        if future is self._future:
            self._step()

    def _step(self) -> None:
        coro = self._coro
        if coro is None:  # closed while this wake-up was already scheduled
            return
        self._future = self._handle = None
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            self._coro = None
            self._on_done(True, stop.value)
            return
        except (KeyboardInterrupt, SystemExit):
            self._coro = None
            raise
        except BaseException as exc:  # (CancelledError included: the caller decides)
            self._coro = None
            self._on_done(False, exc)
            return
        if yielded is None:  # a bare yield: one loop turn
            self._handle = asyncio.get_running_loop().call_soon(self._step, context=self._ctx)
        elif getattr(yielded, "_asyncio_future_blocking", None) is not None:
            yielded._asyncio_future_blocking = False  # we await it on the coroutine's behalf
            self._future = yielded
            yielded.add_done_callback(self._wake, context=self._ctx)
        else:
            self.close()
            self._on_done(False, RuntimeError(f"cannot wait for {yielded!r}"))

    def poll(self) -> None:
        """Take the next step now if the future waited on is already done (its callback
        is only scheduled): lets a caller see an outcome that is already decided."""
        future = self._future
        if future is not None and future.done():
            future.remove_done_callback(self._wake)
            self._ctx.run(self._step)

    def close(self) -> None:
        """Stop following: the coroutine is closed and ``on_done`` is not called."""
        coro = self._coro
        if coro is None:
            return
        self._coro = None
        if self._future is not None:
            self._future.remove_done_callback(self._wake)
            self._future = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        try:
            self._ctx.run(coro.close)
        except RuntimeError:  # it awaited in its clean-up: nothing more we can do
            pass


def _settle(done: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if done.done():
        return
    if ok:
        done.set_result(value)
    elif isinstance(value, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(value)


def _expire(done: asyncio.Future[Any]) -> None:
    if not done.done():
        done.set_result(TIMED_OUT)


async def bounded(awaitable: Any, timeout: float | None) -> Any:
    """``await awaitable``, or :data:`TIMED_OUT` once ``timeout`` seconds have passed.

    What ``asyncio.wait_for`` does, for a future and a timer instead of a task per call
    (on Python 3.11), and bound to no task: a coroutine started eagerly in one task and
    finished in another (runtime/eager.py) is still timed correctly, which
    ``asyncio.timeout`` (and ``wait_for`` on 3.12+, built on it) would get wrong.
    Cancelling the caller closes the awaitable and propagates.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    follower = Follower(awaitable, partial(_settle, done))
    timer = None
    if follower.running and timeout is not None:
        timer = loop.call_later(timeout, _expire, done)
    try:
        return await done
    finally:
        if timer is not None:
            timer.cancel()
        follower.close()


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

    async def wait_event(self, event: asyncio.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set or ``timeout`` passes; True when it was set.

        No task and no extra future: we await the future the event's own ``wait()``
        awaits, and the timer resolves that future with a marker of ours (``set()`` skips
        a resolved waiter). A cancellation of the caller, even one landing just after the
        timer fired, propagates. Bound to no task (see :func:`bounded`).
        """
        if event.is_set():
            return True
        waiting = event.wait()
        try:
            future = waiting.send(None)  # the future that event.set() resolves
        except StopIteration:
            return True
        future._asyncio_future_blocking = False  # (its await yielded it to us, not to a task)
        timer = None
        if timeout is not None:
            timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
        try:
            return await future is not TIMED_OUT
        finally:
            if timer is not None:
                timer.cancel()
            waiting.close()  # (takes the future off the event's waiters)

    async def within(self, awaitable: Any, timeout: float | None) -> Any:
        """The awaitable's result, or :data:`TIMED_OUT` after ``timeout`` seconds (the
        awaitable is then closed: it must not await in its clean-up)."""
        return await bounded(awaitable, timeout)

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
