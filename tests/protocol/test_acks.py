"""PendingAcks: ids handed out, values returned once."""

from __future__ import annotations

from sio_integrations.protocol import PendingAcks


def test_ids_start_at_one_and_grow() -> None:
    acks: PendingAcks[str] = PendingAcks()
    assert [acks.register(v) for v in "abc"] == [1, 2, 3]
    assert len(acks) == 3
    assert 2 in acks
    assert acks.pop(2) == "b"
    assert 2 not in acks
    assert acks.pop(2) is None  # a duplicate ACK from the peer finds nothing
    assert acks.pop(99) is None
    assert acks.register("d") == 4  # ids are never reused
    assert len(acks) == 3


def test_clear_returns_what_was_pending() -> None:
    acks: PendingAcks[object] = PendingAcks()
    first, second = object(), object()
    acks.register(first)
    acks.register(second)
    assert acks.clear() == [first, second]
    assert len(acks) == 0
    assert acks.clear() == []
    assert acks.pop(1) is None
    assert acks.register(first) == 3


def test_separate_instances_are_independent() -> None:
    one: PendingAcks[int] = PendingAcks()
    two: PendingAcks[int] = PendingAcks()
    assert one.register(10) == two.register(20) == 1
    assert one.pop(1) == 10
    assert two.pop(1) == 20
