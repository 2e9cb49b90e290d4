"""Timed waits without tasks (``AsyncBackend.wait_event`` / ``within``, ``Follower``) and
the ASGI ``DisconnectWatch`` a waiting long-polling GET uses.

Each wait must: return what it returned with ``asyncio.wait_for`` (True/False, the result
or ``TIMED_OUT``), let a cancellation of the caller through (even one that lands right
after the timer fired), leave no timer or waiter behind, and keep working for a coroutine
started eagerly in one task and finished in another (runtime/eager.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sio_integrations.runtime.asgi_http import DisconnectWatch
from sio_integrations.runtime.backends import TIMED_OUT, AsyncBackend, Follower, SyncBackend
from sio_integrations.runtime.eager import start_eagerly

backend = AsyncBackend()


@contextmanager
def _timers(loop: asyncio.AbstractEventLoop) -> Iterator[list[asyncio.TimerHandle]]:
    """Record the timers scheduled meanwhile (to check none is left pending)."""
    handles: list[asyncio.TimerHandle] = []
    original = loop.call_later

    def call_later(delay: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        handle = original(delay, callback, *args, **kwargs)
        handles.append(handle)
        return handle

    loop.call_later = call_later  # type: ignore[method-assign]
    try:
        yield handles
    finally:
        loop.call_later = original  # type: ignore[method-assign]


def _left(handles: list[asyncio.TimerHandle]) -> list[asyncio.TimerHandle]:
    loop = asyncio.get_running_loop()
    return [h for h in handles if not h.cancelled() and h.when() > loop.time()]


def test_wait_event_set_timeout_and_already_set() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with _timers(loop) as handles:
            event = asyncio.Event()
            loop.call_later(0.01, event.set)
            assert await backend.wait_event(event, 10) is True
            assert await backend.wait_event(event, 10) is True  # already set
            assert await backend.wait_event(asyncio.Event(), 0.02) is False
            assert await backend.wait_event(asyncio.Event(), 0) is False
            assert _left(handles) == []
            assert not event._waiters  # type: ignore[attr-defined]  # (nothing registered)
            assert len(asyncio.all_tasks()) == 1  # no task was made

    asyncio.run(main())


def test_wait_event_cancelled_propagates_and_unregisters() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with _timers(loop) as handles:
            task = asyncio.ensure_future(backend.wait_event(event, 10))
            await asyncio.sleep(0)
            assert len(event._waiters) == 1  # type: ignore[attr-defined]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not event._waiters  # type: ignore[attr-defined]
            assert _left(handles) == []

    asyncio.run(main())


def test_cancellation_right_after_the_timer_fired_is_not_a_timeout() -> None:
    """The timer has cancelled the waiter future, the caller is cancelled before it ran:
    the caller's cancellation wins (``wait_for`` on 3.11 may swallow it)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[Any] = []

        def call_later(delay: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            fired.append((callback, args))
            return loop.call_soon(lambda: None)  # a handle that does nothing

        for wait in ("wait_event", "within"):
            event = asyncio.Event()
            loop.call_later = call_later  # type: ignore[method-assign]
            try:
                if wait == "wait_event":
                    task = asyncio.ensure_future(backend.wait_event(event, 1))
                else:
                    task = asyncio.ensure_future(backend.within(event.wait(), 1))
                await asyncio.sleep(0)
            finally:
                del loop.call_later  # type: ignore[method-assign]
            callback, args = fired.pop()
            callback(*args)  # the timer fires...
            task.cancel()  # ...and the caller is cancelled in the same loop turn
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


def test_within_result_timeout_error_and_cancel() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        cleaned: list[str] = []

        async def slow(result: Any, delay: float) -> Any:
            try:
                await asyncio.sleep(delay)
                await asyncio.sleep(0)  # a bare yield too
                return result
            finally:
                cleaned.append(result)

        async def fails() -> None:
            await asyncio.sleep(0.001)
            raise ValueError("inner")

        with _timers(loop) as handles:
            assert await backend.within(slow("a", 0.001), 10) == "a"
            assert await backend.within(slow("b", 10), 0.02) is TIMED_OUT
            assert cleaned == ["a", "b"]  # the timed-out coroutine was closed
            with pytest.raises(ValueError, match="inner"):
                await backend.within(fails(), 10)
            future = loop.create_future()
            future.set_result(7)
            assert await backend.within(future, 1) == 7  # any awaitable
            task = asyncio.ensure_future(backend.within(slow("c", 10), 10))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert cleaned[-1] == "c"
            assert [h for h in _left(handles) if h.when() > loop.time() + 5] == []
            assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


def test_within_runs_the_awaitable_in_a_copy_of_the_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outer")

    async def inner() -> str:
        seen = var.get()
        var.set("inner")
        await asyncio.sleep(0.001)
        return seen + "/" + var.get()

    async def main() -> None:
        assert await backend.within(inner(), 5) == "outer/inner"
        assert var.get() == "outer"  # as with a task: the change stays inside

    asyncio.run(main())


def test_waits_started_eagerly_survive_their_first_task() -> None:
    """Started inline in one task, finished in another: the timer is not bound to the
    first task (with ``asyncio.timeout`` it would cancel the wrong one)."""

    async def main() -> None:
        results: list[Any] = []

        async def handler() -> None:
            results.append(await backend.wait_event(asyncio.Event(), 0.05))
            results.append(await backend.within(asyncio.sleep(10), 0.05))

        async def first() -> None:
            task = start_eagerly(handler())
            assert task is not None
            results.append(task)
            await asyncio.sleep(0.2)  # outlives both timeouts, and must not be cancelled

        await asyncio.wait_for(first(), 5)
        task = results.pop(0)
        await asyncio.wait_for(task, 5)
        assert results == [False, TIMED_OUT]

    asyncio.run(main())


def test_follower_poll_takes_a_decided_step_now() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        outcome: list[Any] = []

        async def waits() -> Any:
            return await future

        follower = Follower(waits(), lambda ok, value: outcome.append((ok, value)))
        assert follower.running and outcome == []
        future.set_result(3)  # its wake-up is scheduled, not run
        follower.poll()
        assert outcome == [(True, 3)] and not follower.running
        await asyncio.sleep(0)  # the stale wake-up does nothing
        assert outcome == [(True, 3)]

    asyncio.run(main())


def test_sync_backend_twin() -> None:
    sync = SyncBackend()
    event = threading.Event()
    threading.Timer(0.01, event.set).start()
    assert sync.wait_event(event, 5) is True
    assert sync.wait_event(threading.Event(), 0.01) is False
    assert sync.within("value", 1) == "value"


# -- DisconnectWatch ----------------------------------------------------------------------


class FakeHost:
    """An ASGI receive(): the request at once, then a disconnect when told."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()
        self.started = 0
        self.closed = 0
        self.request_sent = False

    async def receive(self) -> dict[str, Any]:
        self.started += 1
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        try:
            await self.gone.wait()
            return {"type": "http.disconnect"}
        finally:
            self.closed += 1


def test_disconnect_watch_reports_once_and_stops_cleanly() -> None:
    async def main() -> None:
        host = FakeHost()
        calls: list[str] = []
        watch = DisconnectWatch(host.receive, lambda: calls.append("gone"))
        assert host.started == 2 and not watch.gone  # the request read, waiting for more
        host.gone.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert calls == ["gone"] and watch.gone and watch.stop() is True
        assert host.closed == 1

        host = FakeHost()
        watch = DisconnectWatch(host.receive, lambda: calls.append("again"))
        assert watch.stop() is False  # answered before its client left
        assert host.closed == 1  # the pending receive() was closed
        assert not host.gone._waiters  # type: ignore[attr-defined]
        host.gone.set()
        await asyncio.sleep(0)
        assert calls == ["gone"]  # nothing after stop()
        assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


def test_disconnect_watch_check_sees_a_signalled_disconnect() -> None:
    async def main() -> None:
        host = FakeHost()
        calls: list[str] = []
        watch = DisconnectWatch(host.receive, lambda: calls.append("gone"))
        host.gone.set()  # the host signalled; our callback has not run yet
        assert watch.gone is False
        assert watch.check() is True and calls == ["gone"]
        await asyncio.sleep(0)
        assert calls == ["gone"]

    asyncio.run(main())


def test_disconnect_watch_with_a_receive_it_cannot_follow() -> None:
    def broken() -> Any:
        raise RuntimeError("no receive here")

    watch = DisconnectWatch(broken, lambda: None)
    assert watch.check() is False and watch.stop() is False
