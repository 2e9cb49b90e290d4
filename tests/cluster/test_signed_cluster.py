"""Signed msgpack messages on a real broker: a node with another secret hears nothing."""

from __future__ import annotations

from typing import Any

from .harness import Cluster, wait_until

SECRET = {"message_queue_secret": "cluster-secret-0123456789", "message_queue_format": "msgpack"}


def test_signed_msgpack_cluster_refuses_a_stranger(redis_server: Any) -> None:
    cluster = Cluster("async", redis_server.url, 2, SECRET)
    stranger = Cluster("async", redis_server.url, 1,
                       {**SECRET, "message_queue_secret": "another-secret-9876543210"})
    try:
        a, b = cluster.peer(0), cluster.peer(1)
        s = stranger.peer(0)
        cluster.wait_meshed(a)
        a.op("emit", event="news", data={"bin": b"\x01"})
        wait_until(lambda: b.received("news") == [{"bin": b"\x01"}], what="signed broadcast")
        wait_until(lambda: s.op("health")["dropped"].get("forged", 0) > 0, what="refusal")
        assert s.received("news") == []
        assert b.op("health")["dropped"].get("forged", 0) > 0  # the stranger's beats
        assert s.op("health")["nodes"] == 0  # it never learnt of the others
    finally:
        stranger.close()
        cluster.close()
