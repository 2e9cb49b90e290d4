"""Kill and restart the broker while messages flow; assert the documented guarantees.

Node A publishes a numbered stream to a room (through ``emit`` with an outbox of 10 000),
node B delivers it to a client. The broker is killed (SIGKILL) and started again on the
same port. Documented guarantees checked here:

* nothing is duplicated and the order is kept;
* everything published before the outage arrives, except what was still inside the broker
  when it was killed (0.2 s of margin before the kill, 0.5 s after it);
* everything published during the outage arrives late: A's outbox holds it and flushes
  it once B says it is listening again (at most 1.5 s after the broker is back);
* everything published after the recovery arrives;
* the listener of each node logs one ERROR line for the outage and is listening again
  within 1 s of the broker accepting connections (asserted with slack for slow CI);
* A's publishes never raised (the outbox held them), and nothing leaked: the broker sees
  as many connections from the nodes afterwards as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Cluster, Peer, wait_until

pytestmark = pytest.mark.timeout(180)


def redis_node_connections(url: str) -> int:
    import redis

    with redis.Redis.from_url(url) as client:
        return sum(1 for c in client.client_list() if c.get("name") == "sio-node")


def broker_ready(url: str) -> float:
    """When a fresh client can publish again (the broker opens its port before it has
    finished booting: RabbitMQ takes a little longer to serve AMQP)."""
    from sio_integrations.runtime.brokers import broker_from_url

    deadline = time.monotonic() + 30
    while True:
        probe = broker_from_url(url, asyncio=False, channel="readiness")
        try:
            probe.publish(b"ready?")
            return time.monotonic()
        except ConnectionError:
            assert time.monotonic() < deadline, "the broker did not come back"
            time.sleep(0.02)
        finally:
            probe.close()


class Stream:
    """Numbered emits from node A, one every few milliseconds, in a thread."""

    def __init__(self, sender: Peer) -> None:
        self.sender = sender
        self.acked: list[tuple[int, float]] = []  # (number, when its emit returned)
        self.errors: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < 5000:
            result = self.sender.op("emit", event="seq", data=n, to="feed")
            if result != "ok":
                self.errors.append(result)
            self.acked.append((n, time.monotonic()))
            n += 1
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(params=[("async", "redis"), ("sync", "redis"), ("async", "rabbitmq"),
                        ("sync", "rabbitmq")], ids=lambda p: f"{p[0]}-{p[1]}")
def setup(request: Any) -> Iterator[tuple[Cluster, Any, str]]:
    mode, broker = request.param
    server = request.getfixturevalue(f"{broker}_server")
    options: dict[str, Any] = {"message_queue_outbox": 10_000}
    if broker == "redis":
        options["message_queue_options"] = {"client_name": "sio-node"}
    cluster = Cluster(mode, server.url, 2, options)
    try:
        yield cluster, server, broker
    finally:
        cluster.close()


def test_broker_restart_while_messages_flow(setup: tuple[Cluster, Any, str]) -> None:
    cluster, server, broker = setup
    a, b = cluster.peer(0), cluster.peer(1)
    b.op("enter", room="feed")
    cluster.wait_meshed(a)
    if broker == "redis":
        steady = wait_until(lambda: redis_node_connections(server.url), what="connections")
    stream = Stream(a)
    try:
        wait_until(lambda: len(b.received("seq")) >= 20, what="stream flowing")
        server.stop()
        killed_at = time.monotonic()
        wait_until(lambda: not b.op("health")["connected"], what="outage noticed")
        time.sleep(0.5)  # messages keep coming while the broker is away
        server.start()
        back_at = broker_ready(server.url)
        wait_until(lambda: b.op("health")["connected"], 15, "B listening again")
        b_delay = time.monotonic() - back_at
        wait_until(lambda: a.op("health")["connected"], 15, "A listening again")
        wait_until(lambda: a.op("health")["outbox"] == 0, 15, "A's outbox flushed")
        recovered_at = time.monotonic()
        time.sleep(0.5)
    finally:
        stream.stop()
    last = stream.acked[-1][0]
    wait_until(lambda: last in b.received("seq"), 15, "the last message")

    received = b.received("seq")
    assert received == sorted(set(received)), "duplicated or reordered"
    # a message still in the broker's buffers when it is killed is lost with it
    before = [n for n, at in stream.acked if at < killed_at - 0.2]
    during = [n for n, at in stream.acked if killed_at + 0.5 < at < recovered_at]
    after = [n for n, at in stream.acked if at > recovered_at]
    assert before and during and after
    # held in A's outbox, flushed once B listened again: late, not lost
    assert set(before) | set(during) | set(after) <= set(received)
    lost = sorted(set(n for n, _ in stream.acked) - set(received))
    assert all(before[-1] < n < during[0] for n in lost)  # only what the broker had inside
    assert stream.errors == []  # the outbox held A's messages during the outage

    # the requirement is 1 s; the slack is for a busy 2-core CI machine
    assert b_delay < 1.5, f"B took {b_delay:.2f} s to listen again\n{cluster.nodes[1].log()}"
    for node, peer in zip(cluster.nodes, (a, b), strict=True):
        health = peer.op("health")
        assert health["reconnects"] == 1 and health["failed"] == 0
        assert node.log().count("listener lost") == 1, node.log()
    if broker == "redis":
        # one listener and a publisher pool per node (a threaded node may pool two
        # publishers when its threads publish at the same moment): bounded, no growth
        assert redis_node_connections(server.url) <= max(steady, 3 * len(cluster.nodes))
    print(f"\n{cluster.mode}-{broker}: listening again {b_delay:.2f} s after the restart; "
          f"{len(stream.acked)} sent, {len(lost)} lost during the outage, 0 duplicated")


def test_no_connection_leak_across_repeated_drops(redis_server: Any) -> None:
    """Redis drops the subscribers (as ``client-output-buffer-limit`` does) three times;
    the listeners come back each time and the connection count stays the same."""
    import redis

    cluster = Cluster("async", redis_server.url, 2,
                      {"message_queue_options": {"client_name": "sio-node"}})
    try:
        a, b = cluster.peer(0), cluster.peer(1)
        b.op("enter", room="feed")
        cluster.wait_meshed(a)
        # per node: one listener and a publisher pool that may hold a second connection
        # while two publishes overlap; a leak of one connection per drop would pass it
        bound = 3 * len(cluster.nodes)
        assert redis_node_connections(redis_server.url) <= bound
        for round_ in range(1, 4):
            with redis.Redis.from_url(redis_server.url) as client:
                client.client_kill_filter(_type="pubsub")
            wait_until(lambda r=round_: b.op("health")["reconnects"] == r, 10, "reconnect")
            wait_until(lambda: b.op("health")["connected"], 10, "listening")
            a.op("emit", event="seq", data=round_, to="feed")
            wait_until(lambda r=round_: r in b.received("seq"), 10, "delivery")
            wait_until(lambda: redis_node_connections(redis_server.url) <= bound, 5,
                       f"at most {bound} connections")
        assert cluster.nodes[1].log().count("listener lost") == 3
    finally:
        cluster.close()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_publish_without_an_outbox_raises_during_an_outage(broker: str, request: Any) -> None:
    """The default: a publish the broker did not take raises, in both worlds, and the
    next one after the broker is back goes through on a fresh connection."""
    import asyncio

    import sio_integrations as socketio
    from sio_integrations.errors import MessageQueueError

    server = request.getfixturevalue(f"{broker}_server")
    emitter = socketio.Emitter(server.url)

    async def async_emit(aemitter: Any) -> None:
        await aemitter.emit("e", 1)

    aemitter = socketio.AsyncEmitter(server.url)
    loop = asyncio.new_event_loop()
    try:
        emitter.emit("e", 1)
        loop.run_until_complete(async_emit(aemitter))
        server.stop()
        try:
            with pytest.raises(MessageQueueError):
                emitter.emit("e", 2)
            with pytest.raises(MessageQueueError):
                loop.run_until_complete(async_emit(aemitter))
        finally:
            server.start()
        emitter.emit("e", 3)
        loop.run_until_complete(async_emit(aemitter))
        assert emitter.health().failed == 1 and aemitter.health().failed == 1
        assert emitter.health().published == 2 and aemitter.health().published == 2
    finally:
        emitter.close()
        loop.run_until_complete(aemitter.close())
        loop.close()
