"""An in-memory broker with a switch to take it down: for the bus's own logic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator


class MemoryHub:
    """A pub/sub channel in memory; ``down = True`` refuses publishes and drops listeners."""

    def __init__(self) -> None:
        self.down = False
        self.queues: list[asyncio.Queue[bytes]] = []
        self.published: list[bytes] = []
        self.listens = 0

    def broker(self) -> MemoryBroker:
        return MemoryBroker(self)

    def inject(self, payload: bytes) -> None:
        for queue in self.queues:
            queue.put_nowait(payload)


class MemoryBroker:
    name = "memory"

    def __init__(self, hub: MemoryHub) -> None:
        self.hub = hub
        self.closed = 0

    async def publish(self, payload: bytes) -> None:
        if self.hub.down:
            raise ConnectionError("hub is down")
        self.hub.published.append(payload)
        self.hub.inject(payload)

    async def listen(self) -> AsyncIterator[bytes]:
        if self.hub.down:
            raise ConnectionError("hub is down")
        self.hub.listens += 1
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.hub.queues.append(queue)
        try:
            while True:
                try:
                    payload = await asyncio.wait_for(queue.get(), 0.05)
                except asyncio.TimeoutError:
                    if self.hub.down:
                        raise ConnectionError("hub went down") from None
                    continue
                yield payload
        finally:
            self.hub.queues.remove(queue)

    async def close(self) -> None:
        self.closed += 1


class MuteHub(MemoryHub):
    """A hub whose subscriptions can go silent without an error (``mute = True``): what
    a half-dead connection behind a proxy looks like."""

    def __init__(self) -> None:
        super().__init__()
        self.mute = False

    def inject(self, payload: bytes) -> None:
        if not self.mute:
            super().inject(payload)

    def broker(self) -> MemoryBroker:
        return _ClosableBroker(self)


class _ClosableBroker(MemoryBroker):
    """``close()`` ends the running listens (as our real brokers do within one poll)."""

    def __init__(self, hub: MemoryHub) -> None:
        super().__init__(hub)
        self.generation = 0

    async def listen(self) -> AsyncIterator[bytes]:
        generation = self.generation
        async for payload in super().listen():
            if generation != self.generation:
                return
            yield payload

    async def close(self) -> None:
        await super().close()
        self.generation += 1
        for queue in self.hub.queues:
            queue.put_nowait(b"")  # wakes the listener, which sees the new generation
