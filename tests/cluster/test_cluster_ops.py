"""Cluster-wide operations across three real server processes on a real broker.

Every test runs on asyncio nodes (uvicorn; redis.asyncio / aio-pika) and on synchronous
nodes (threaded WSGI; redis / kombu), over Redis and over RabbitMQ.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

import sio_integrations as socketio

from .harness import Cluster, Peer, close_all, wait_until

_rooms = itertools.count()


def fresh(prefix: str = "room") -> str:
    return f"{prefix}-{next(_rooms)}"


@pytest.fixture(scope="module", params=[("async", "redis"), ("sync", "redis"),
                                        ("async", "rabbitmq"), ("sync", "rabbitmq")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def cluster(request: Any) -> Iterator[Cluster]:
    mode, broker = request.param
    server = request.getfixturevalue(f"{broker}_server")
    nodes = Cluster(mode, server.url, 3)
    try:
        nodes.wait_meshed(nodes.peer(0))
        yield nodes
    finally:
        nodes.close()


@pytest.fixture
def peers(cluster: Cluster) -> Iterator[list[Peer]]:
    """One client on each node (and one more on node 0)."""
    made = [cluster.peer(0, agent="a"), cluster.peer(1, agent="b"), cluster.peer(2, agent="c"),
            cluster.peer(0, agent="d")]
    yield made
    close_all(made)


def test_broadcast_reaches_every_node(peers: list[Peer]) -> None:
    a, b, c, d = peers
    assert b.op("emit", event="news", data={"n": 1}) == "ok"
    for peer in peers:
        wait_until(lambda p=peer: p.received("news") == [{"n": 1}], what="broadcast")


def test_room_emit_with_skip_sid(peers: list[Peer]) -> None:
    a, b, c, d = peers
    room = fresh()
    for peer in (a, b, c):
        assert peer.op("enter", room=room) == "ok"
    d.op("emit", event="chat", data="hi", to=room, skip=a.sid)
    wait_until(lambda: b.received("chat") == ["hi"] and c.received("chat") == ["hi"],
               what="room emit")
    # a sentinel emitted after the first one arrives after it: then nothing else is coming
    d.op("emit", event="done", to=room)
    wait_until(lambda: a.received("done"), what="sentinel")
    assert a.received("chat") == [] and d.received("chat") == []


def test_enter_leave_disconnect_of_a_remote_sid(peers: list[Peer]) -> None:
    a, b, c, d = peers
    room = fresh()
    a.op("enter", sid=c.sid, room=room)  # c lives on node 2
    wait_until(lambda: room in c.op("rooms"), what="remote enter")
    a.op("emit", event="ping", data=1, to=room)
    wait_until(lambda: c.received("ping") == [1], what="room member")
    a.op("leave", sid=c.sid, room=room)
    wait_until(lambda: room not in c.op("rooms"), what="remote leave")
    b.op("disconnect", sid=c.sid)
    assert c.disconnected.wait(10)


def test_close_room_everywhere(peers: list[Peer]) -> None:
    a, b, c, d = peers
    room = fresh()
    for peer in (a, b, c):
        peer.op("enter", room=room)
    b.op("close_room", room=room)
    for peer in (a, b, c):
        wait_until(lambda p=peer: room not in p.op("rooms"), what="room closed")


def test_fetch_sockets_across_nodes(cluster: Cluster, peers: list[Peer]) -> None:
    a, b, c, d = peers
    room = fresh()
    extra = cluster.peer(1, auth={"token": "t-1"}, agent="e")
    try:
        for peer in (a, c, extra):
            peer.op("enter", room=room)
        found = d.op("fetch", room=room)
        assert [s["sid"] for s in found] == sorted([a.sid, c.sid, extra.sid])
        by_sid = {s["sid"]: s for s in found}
        assert by_sid[extra.sid]["rooms"] == sorted([extra.sid, room])
        assert by_sid[extra.sid]["data"] == {"auth": {"token": "t-1"}}
        assert by_sid[extra.sid]["agent"] == "e"
        assert len({s["node"] for s in found}) == 3
        skipped = d.op("fetch", room=room, skip=c.sid)
        assert [s["sid"] for s in skipped] == sorted([a.sid, extra.sid])
    finally:
        close_all([extra])


def test_sockets_join_leave_and_disconnect_sockets(peers: list[Peer]) -> None:
    a, b, c, d = peers
    room, vip = fresh(), fresh("vip")
    for peer in (b, c):
        peer.op("enter", room=room)
    a.op("sockets_join", rooms=[vip], room=room)
    wait_until(lambda: vip in b.op("rooms") and vip in c.op("rooms"), what="join")
    assert vip not in a.op("rooms") and vip not in d.op("rooms")
    a.op("sockets_leave", rooms=vip, room=room)
    wait_until(lambda: vip not in b.op("rooms") and vip not in c.op("rooms"), what="leave")
    d.op("disconnect_sockets", room=room)
    assert b.disconnected.wait(10) and c.disconnected.wait(10)
    assert not a.disconnected.is_set() and not d.disconnected.is_set()


def test_server_to_server_call(peers: list[Peer]) -> None:
    a = peers[0]
    assert a.op("server_call", tag="x") == [["x", "n1"], ["x", "n2"]]


def test_call_of_a_remote_sid(peers: list[Peer]) -> None:
    a, b, c, d = peers
    assert a.op("call", event="question", data="q1", sid=c.sid) == "answer to q1 from c"
    # a sid nobody has: a timeout error, not a hang
    result = a.op("call", event="question", sid="no-such-sid", timeout=0.5)
    assert result["error"] == "AckTimeoutError"


def test_sync_emitter(cluster: Cluster, peers: list[Peer]) -> None:
    a, b, c, d = peers
    room = fresh()
    for peer in (a, c):
        peer.op("enter", room=room)
    with socketio.Emitter(cluster.mq_url) as emitter:
        emitter.emit("job", {"done": True}, to=room, skip_sid=c.sid)
        emitter.enter_room(b.sid, room)
        wait_until(lambda: room in b.op("rooms"), what="emitter enter_room")
        emitter.emit("job", 2, to=room)
        emitter.close_room(room)
        wait_until(lambda: room not in a.op("rooms"), what="emitter close_room")
        emitter.disconnect(d.sid)
        assert d.disconnected.wait(10)
        assert emitter.health().failed == 0 and emitter.health().connected is None
    wait_until(lambda: a.received("job") == [{"done": True}, 2], what="emits")
    wait_until(lambda: b.received("job") == [2] and c.received("job") == [2], what="emits")


def test_async_emitter(cluster: Cluster, peers: list[Peer]) -> None:
    a, b, c, d = peers

    async def main() -> None:
        async with socketio.AsyncEmitter(cluster.mq_url) as emitter:
            await emitter.emit("note", "x", to=b.sid)
            await emitter.sockets_join("club", to=c.sid)

    asyncio.run(main())
    wait_until(lambda: b.received("note") == ["x"], what="async emitter")
    wait_until(lambda: "club" in c.op("rooms"), what="async emitter join")


def test_python_socketio_style_write_only_manager(cluster: Cluster, peers: list[Peer]) -> None:
    a = peers[0]
    cls = socketio.RedisManager if cluster.mq_url.startswith("redis") else socketio.KombuManager
    manager = cls(cluster.mq_url, write_only=True)
    try:
        manager.emit("legacy", {"k": 1}, room=a.sid, namespace="/")
    finally:
        manager.close()
    wait_until(lambda: a.received("legacy") == [{"k": 1}], what="write-only manager emit")


def test_emit_with_callback_to_a_remote_sid(peers: list[Peer]) -> None:
    a, b, c, d = peers
    assert a.op("emit_cb", event="question", data="q2", sid=b.sid) == ["answer to q2 from b"]


def test_binary_data_crosses_nodes(peers: list[Peer]) -> None:
    a, b, c, d = peers
    payload = {"blob": b"\x00\x01\xfe\xff", "parts": [b"x", "y"]}
    a.op("emit", event="bin", data=payload, to=c.sid)
    wait_until(lambda: c.received("bin") == [payload], what="binary emit")
