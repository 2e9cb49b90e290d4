"""Start a coroutine now and give it a task only if it has to wait.

Most Socket.IO handlers finish without suspending (an echo, a room join, a write that fits
in the transport buffer). Running their first step inline saves a task creation and a trip
through the event loop per message; a handler that does suspend continues in a task, so
the caller (the transport reader) is never blocked. Python 3.12's eager task factory does
the same for a whole loop; we need it per call and on 3.10+.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start_eagerly(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Run ``coro`` until it first suspends; return a task finishing it, or None if done."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(continue_started(coro, yielded))


async def continue_started(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Finish a coroutine whose first step already ran and yielded ``yielded``."""
    while True:
        if yielded is None:
            await asyncio.sleep(0)  # a bare yield: give the loop one turn
        else:
            # the coroutine flagged the future as awaited; we await it on its behalf
            yielded._asyncio_future_blocking = False
            try:
                await yielded
            except BaseException:  # noqa: S110 - the coroutine reads the outcome itself
                pass
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value
