"""Waiting for the jobs a thread handed to the worker pool (runtime/workers.py): what the
threading direct websocket's reader does before it answers the peer's close frame."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from sio_integrations.runtime import workers
from sio_integrations.runtime.workers import (
    WorkerPool,
    forget_jobs_started_here,
    wait_for_jobs_started_here,
)

from .live import wait_until

pytestmark = pytest.mark.timeout(60)


def _thread(target: Callable[..., Any], args: tuple[Any, ...] = ()) -> threading.Thread:
    return threading.Thread(target=target, args=args, daemon=True)


@pytest.fixture()
def pool() -> WorkerPool:
    forget_jobs_started_here()
    return WorkerPool(_thread)


def test_waits_for_the_jobs_this_thread_started(pool: WorkerPool) -> None:
    gate = threading.Event()
    done: list[str] = []
    pool.run(lambda: (gate.wait(10), done.append("first")))
    pool.run(done.append, "second")
    assert not wait_for_jobs_started_here(0.05)  # the first is still held
    gate.set()
    assert wait_for_jobs_started_here(10)
    assert sorted(done) == ["first", "second"]
    assert wait_for_jobs_started_here(0)  # nothing left to wait for


def test_a_reused_worker_is_waited_for_its_new_job(pool: WorkerPool) -> None:
    pool.run(lambda: None)
    assert wait_for_jobs_started_here(10)
    wait_until(lambda: pool._idle, 10, "the worker to be idle")
    gate = threading.Event()
    pool.run(gate.wait, 10)  # handed to the same (idle) thread: its second job
    assert not pool._idle
    assert not wait_for_jobs_started_here(0.05)
    gate.set()
    assert wait_for_jobs_started_here(10)


def test_jobs_of_other_threads_are_not_waited_for(pool: WorkerPool) -> None:
    gate = threading.Event()
    other = threading.Thread(target=pool.run, args=(gate.wait, 10))
    other.start()
    other.join(10)
    try:
        assert wait_for_jobs_started_here(0)
    finally:
        gate.set()


def test_forgotten_jobs_are_not_waited_for(pool: WorkerPool) -> None:
    gate = threading.Event()
    pool.run(gate.wait, 10)
    forget_jobs_started_here()
    try:
        assert wait_for_jobs_started_here(0)
    finally:
        gate.set()


def test_finished_tickets_do_not_pile_up(pool: WorkerPool) -> None:
    for _ in range(50):
        pool.run(lambda: None)
        last = workers._local.tickets[-1]
        wait_until(lambda t=last: t[1].finished >= t[2], 10, "the job to finish")
    assert len(workers._local.tickets) <= workers._TICKETS_KEPT
    assert wait_for_jobs_started_here(10)
    assert workers._local.tickets == []
