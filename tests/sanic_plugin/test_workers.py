"""Sanic's multi-worker mode with the Redis message queue: a broadcast from a client on one
worker reaches clients on both (SANIC_SOCKETIO_MESSAGE_QUEUE -> app.config)."""

from __future__ import annotations

from typing import Any

from tests.services import free_port

from .nodejs import run_scenario, server_process


def test_broadcast_reaches_clients_on_both_workers(redis_server: Any) -> None:
    port = free_port()
    with server_process(["tests/sanic_plugin/serve.py", str(port), "2"], ready=2,
                        env={"SANIC_SOCKETIO_MESSAGE_QUEUE": redis_server.url}) as ready:
        assert len({line.split()[1] for line in ready}) == 2  # two worker processes
        result = run_scenario(f"http://127.0.0.1:{port}", "broadcast", "user=alice", "")
    assert len(result["pids"]) == 2, result  # clients landed on both workers
    assert len(result["news"]) == result["clients"]
    assert all(n["text"] == "to everyone" for n in result["news"])
    # the emitting worker is one of them; the others got it through Redis
    assert {n["from_pid"] for n in result["news"]} <= set(result["pids"])
