"""RoomRegistry: membership, broadcast recipients, and no leftover memory."""

from __future__ import annotations

import pytest

from sio_integrations.protocol import RoomRegistry


@pytest.fixture
def reg() -> RoomRegistry:
    registry = RoomRegistry()
    for sid in ("a", "b", "c"):
        registry.connect("/", sid)
    registry.connect("/chat", "a")
    return registry


def test_connect_joins_own_room(reg: RoomRegistry) -> None:
    assert reg.rooms("/", "a") == ["a"]
    assert reg.members("/", "a") == ["a"]
    assert reg.is_connected("/", "a")
    assert reg.is_connected("/chat", "a")
    assert not reg.is_connected("/chat", "b")
    assert not reg.is_connected("/nowhere", "a")
    assert reg.namespaces() == ["/", "/chat"]
    reg.connect("/", "a")  # idempotent
    assert reg.rooms("/", "a") == ["a"]
    assert reg.recipients("/") == ["a", "b", "c"]


def test_enter_leave(reg: RoomRegistry) -> None:
    assert reg.enter("/", "a", "r1")
    assert reg.enter("/", "b", "r1")
    assert reg.enter("/", "a", "r1")  # idempotent
    assert reg.members("/", "r1") == ["a", "b"]
    assert reg.rooms("/", "a") == ["a", "r1"]
    reg.leave("/", "a", "r1")
    reg.leave("/", "a", "r1")  # nothing left to do
    reg.leave("/", "zzz", "r1")
    reg.leave("/nowhere", "a", "r1")
    assert reg.members("/", "r1") == ["b"]
    reg.leave("/", "b", "r1")
    assert reg.members("/", "r1") == []
    assert "r1" not in reg._rooms["/"]  # empty rooms are deleted


def test_enter_needs_a_connected_sid(reg: RoomRegistry) -> None:
    assert reg.enter("/", "ghost", "r") is False
    assert reg.enter("/nowhere", "a", "r") is False
    assert reg.members("/", "r") == []


def test_disconnect_leaves_every_room_and_frees_memory(reg: RoomRegistry) -> None:
    reg.enter("/", "a", "r1")
    reg.enter("/", "a", "r2")
    reg.enter("/", "b", "r2")
    assert reg.disconnect("/", "a") == ["a", "r1", "r2"]
    assert reg.disconnect("/", "a") == []
    assert reg.disconnect("/nowhere", "a") == []
    assert not reg.is_connected("/", "a")
    assert reg.members("/", "r2") == ["b"]
    assert reg.rooms("/", "a") == []
    assert reg.disconnect("/chat", "a") == ["a"]
    assert reg.namespaces() == ["/"]
    for sid in ("b", "c"):
        reg.disconnect("/", sid)
    assert reg.namespaces() == []
    assert reg._rooms == {}
    assert reg._sids == {}


def test_close_room(reg: RoomRegistry) -> None:
    reg.enter("/", "a", "r")
    reg.enter("/", "b", "r")
    assert reg.close_room("/", "r") == ["a", "b"]
    assert reg.members("/", "r") == []
    assert reg.rooms("/", "a") == ["a"]
    assert reg.close_room("/", "r") == []
    assert reg.close_room("/nowhere", "r") == []
    assert reg.close_room("/chat", "a") == ["a"]  # even an own room
    assert reg.rooms("/chat", "a") == []
    assert reg.is_connected("/chat", "a")
    assert reg.recipients("/chat") == ["a"]
    assert "/chat" not in reg._rooms


def test_recipients(reg: RoomRegistry) -> None:
    reg.enter("/", "c", "r1")
    reg.enter("/", "a", "r1")
    reg.enter("/", "b", "r2")
    reg.enter("/", "a", "r2")
    assert reg.recipients("/") == ["a", "b", "c"]
    assert reg.recipients("/", "r1") == ["c", "a"]
    assert reg.recipients("/", "b") == ["b"]
    assert reg.recipients("/", ["r1", "r2"]) == ["c", "a", "b"]
    assert reg.recipients("/", ("r2", "r1")) == ["b", "a", "c"]
    assert reg.recipients("/", {"r2"}) == ["b", "a"]
    assert reg.recipients("/", ["r1", "missing"]) == ["c", "a"]
    assert reg.recipients("/", []) == []
    assert reg.recipients("/", "missing") == []
    assert reg.recipients("/nowhere") == []
    assert reg.recipients("/nowhere", "r1") == []
    assert reg.recipients("/nowhere", ["r1"]) == []
    assert reg.recipients("/", skip="a") == ["b", "c"]
    assert reg.recipients("/", skip="zzz") == ["a", "b", "c"]
    assert reg.recipients("/", "r1", skip="a") == ["c"]
    assert reg.recipients("/", ["r1", "r2"], skip=["a", "b"]) == ["c"]
    assert reg.recipients("/", skip={"a", "c"}) == ["b"]
    assert reg.recipients("/", skip=("a", "b", "c")) == []


def test_recipients_is_a_snapshot() -> None:
    for to in ("r", None, ["r"]):
        reg = RoomRegistry()
        for sid in ("a", "b"):
            reg.connect("/", sid)
            reg.enter("/", sid, "r")
        seen = []
        for sid in reg.recipients("/", to):
            seen.append(sid)
            reg.disconnect("/", sid)  # a handler disconnecting during the broadcast
            reg.connect("/", sid + "2")
            reg.enter("/", sid + "2", "r")
        assert seen == ["a", "b"]
        assert reg.recipients("/", to) == ["a2", "b2"]


def test_large_room() -> None:
    reg = RoomRegistry()
    sids = [f"s{i}" for i in range(1000)]
    for sid in sids:
        reg.connect("/", sid)
        reg.enter("/", sid, "all")
    assert reg.recipients("/", "all") == sids
    assert reg.recipients("/", "all", skip="s500") == sids[:500] + sids[501:]
    for sid in sids:
        reg.disconnect("/", sid)
    assert reg._rooms == {} and reg._sids == {}
