"""Acknowledgement ids and the callbacks (or futures) waiting for them."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["PendingAcks"]

T = TypeVar("T")


class PendingAcks(Generic[T]):
    """Values waiting for an acknowledgement, keyed by the id sent with the event.

    Ids start at 1 and only grow (like python-socketio; JS starts at 0). Starting at 1 keeps
    every id truthy, so ``if ack_id:`` mistakes cannot lose the first acknowledgement.
    """

    __slots__ = ("_next_id", "_pending")

    def __init__(self) -> None:
        self._next_id = 1
        self._pending: dict[int, T] = {}

    def register(self, value: T) -> int:
        """Store ``value`` and return the id to send with the event."""
        ack_id = self._next_id
        self._next_id = ack_id + 1
        self._pending[ack_id] = value
        return ack_id

    def pop(self, ack_id: int) -> T | None:
        """The value registered under ``ack_id`` (forgotten), or None if unknown."""
        return self._pending.pop(ack_id, None)

    def clear(self) -> list[T]:
        """Forget every pending value and return them (e.g. to cancel waiting calls)."""
        values = list(self._pending.values())
        self._pending.clear()
        return values

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, ack_id: object) -> bool:
        return ack_id in self._pending
