"""start_eagerly: inline when possible, a task when the coroutine waits."""

from __future__ import annotations

import asyncio

import pytest

from sio_integrations.runtime.eager import start_eagerly


def test_finishes_inline_without_a_task() -> None:
    async def main() -> None:
        done: list[int] = []

        async def quick() -> None:
            done.append(1)

        before = len(asyncio.all_tasks())
        assert start_eagerly(quick()) is None
        assert done == [1] and len(asyncio.all_tasks()) == before

    asyncio.run(main())


def test_suspending_coroutine_continues_in_order_with_results_and_errors() -> None:
    async def main() -> None:
        log: list[str] = []
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def slow() -> str:
            log.append("start")
            value = await fut
            log.append(f"got {value}")
            await asyncio.sleep(0)
            try:
                await asyncio.wait_for(asyncio.sleep(10), 0.01)
            except asyncio.TimeoutError:
                log.append("timeout seen")
            return "result"

        task = start_eagerly(slow())
        assert log == ["start"] and task is not None
        fut.set_result(7)
        assert await task == "result"
        assert log == ["start", "got 7", "timeout seen"]

    asyncio.run(main())


def test_exception_inside_propagates_to_the_task() -> None:
    async def main() -> None:
        async def boom() -> None:
            await asyncio.sleep(0.001)
            raise ValueError("x")

        task = start_eagerly(boom())
        assert task is not None
        with pytest.raises(ValueError):
            await task

    asyncio.run(main())


def test_cancellation_reaches_the_coroutine() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def waits() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        task = start_eagerly(waits())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == ["cancelled"]

    asyncio.run(main())
