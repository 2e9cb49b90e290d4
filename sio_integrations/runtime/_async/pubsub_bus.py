"""The supervised connection of one node to the message queue (publish, outbox, listener).

The bus turns a bare broker into something a manager can rely on: messages are encoded,
signed and validated by the protocol's :class:`ClusterCodec`; the listener runs under a
supervisor that reconnects with a capped backoff and logs one ERROR line per outage; a
failed publish raises :class:`MessageQueueError` unless the optional outbox holds it, in
order, until the broker is back; nodes announce themselves (hello / beat / bye) so that
requests know whom to wait for; every counter a health check needs is kept here.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ...errors import LocalProtocolError, MessageQueueError
from ...protocol.cluster import ClusterCodec, DroppedMessage
from ..backends import AsyncBackend
from .broker import AsyncBroker

#: after an outage, the longest held messages wait for the other nodes to listen again
FLUSH_GRACE = 1.5


@dataclasses.dataclass(frozen=True, kw_only=True)
class BusHealth:
    """A snapshot of one node's message-queue connection (see ``manager.health()``)."""

    broker: str
    node: str
    #: the listener is subscribed (its own messages come back); None for a write-only node
    connected: bool | None
    #: wall-clock time (``time.time()``) of the last message received, or None
    last_message_at: float | None
    #: times the listener came back after losing the broker
    reconnects: int
    published: int
    received: int
    #: publish attempts the broker refused (each raised or was held in the outbox)
    publish_failures: int
    #: messages that never reached the broker: refused with the outbox full or disabled
    #: (the caller got MessageQueueError) or expired in the outbox
    failed: int
    #: messages waiting in the outbox
    outbox: int
    #: received messages refused, by reason: unsigned, forged, invalid, too_large, version
    dropped: dict[str, int]
    #: other listening nodes seen recently
    nodes: int


class AsyncBus:
    """One node's connection to the queue. ``on_message(message)`` receives every valid
    message from another node (and ``probe``/``beat`` of its own are used internally)."""

    def __init__(self, broker: AsyncBroker, *, codec: ClusterCodec, logger: Any,
                 listen: bool = True, outbox: int = 0, outbox_age: float = 30.0,
                 heartbeat: float = 5.0, backoff: tuple[float, float] = (0.05, 0.25),
                 on_message: Callable[..., Any] | None = None) -> None:
        self.broker = broker
        self.codec = codec
        self.logger = logger
        self.node = secrets.token_hex(8)
        self.listening = listen
        self.outbox_limit = outbox
        self.outbox_age = outbox_age
        self.heartbeat = heartbeat
        self.backoff = backoff
        self.on_message = on_message
        self.backend: Any = None
        self.running = False
        self.connected = False
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._flushing = False
        self._lock = threading.Lock()
        self._tasks: list[Any] = []
        self._wake: Any = None
        self._nodes: dict[str, float] = {}
        self._heard_self = 0.0
        self._connected_at = 0.0
        self._deaf = False
        self._probe_sent = 0.0
        self._counts = {"published": 0, "received": 0, "reconnects": 0,
                        "publish_failures": 0, "failed": 0}
        self._dropped: dict[str, int] = {}
        self._last_message_at: float | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, backend: Any = None) -> None:
        """Start the listener and heartbeat (a write-only bus starts nothing)."""
        if self.running:
            return
        self.backend = backend or self.backend or AsyncBackend()
        self.running = True
        self._wake = self.backend.event()
        if self.listening:
            self._tasks = [self.backend.spawn(self._supervise),
                           self.backend.spawn(self._beat)]

    async def stop(self) -> None:
        """Say goodbye, stop the listener and release the broker's connections."""
        if not self.running:
            return
        self.running = False
        await self._last_flush()
        if self.listening and self.connected:
            try:
                await self.broker.publish(self.codec.encode("bye", self.node))
            except ConnectionError:
                pass
        self.connected = False
        await self.broker.close()
        self._wake.set()
        for task in self._tasks:
            if hasattr(task, "cancel"):
                task.cancel()  # an asyncio task; threads end with the broker's listen
            await self.backend.join(task)
        self._tasks = []

    def alive_nodes(self) -> list[str]:
        """Other listening nodes heard within three heartbeats."""
        horizon = time.monotonic() - 3 * self.heartbeat
        return [node for node, seen in list(self._nodes.items()) if seen >= horizon]

    def _forget_silent_nodes(self) -> None:
        horizon = time.monotonic() - 20 * self.heartbeat
        for node, seen in list(self._nodes.items()):
            if seen < horizon:
                self._nodes.pop(node, None)

    def health(self) -> BusHealth:
        return BusHealth(
            broker=getattr(self.broker, "name", type(self.broker).__name__), node=self.node,
            connected=self.connected if self.listening else None,
            last_message_at=self._last_message_at, outbox=len(self._outbox),
            dropped=dict(self._dropped), nodes=len(self.alive_nodes()), **self._counts)

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, kind: str, **fields: Any) -> None:
        """Encode and publish one message; raises :class:`MessageQueueError` when it was
        neither accepted by the broker nor held in the outbox."""
        try:
            payload = self.codec.encode(kind, self.node, **fields)
        except (TypeError, ValueError) as exc:
            raise LocalProtocolError(f"cannot send this data through the queue: {exc}") from exc
        if len(payload) > self.codec.max_bytes:
            # the other nodes would refuse it: say so here instead
            raise LocalProtocolError(
                f"message of {len(payload)} bytes is over the queue's limit of "
                f"{self.codec.max_bytes}")
        await self.publish_raw(payload)

    async def publish_raw(self, payload: bytes) -> None:
        if self._outbox:
            self._hold(payload, None)  # behind the held messages, to keep the order
            return
        try:
            await self.broker.publish(payload)
        except ConnectionError as exc:
            self._counts["publish_failures"] += 1
            self._hold(payload, exc)
        else:
            self._counts["published"] += 1

    def _hold(self, payload: bytes, error: Exception | None) -> None:
        with self._lock:
            if len(self._outbox) >= self.outbox_limit:
                self._counts["failed"] += 1
                why = "outbox full" if self.outbox_limit else "no outbox"
                raise MessageQueueError(
                    f"message queue unreachable ({error or 'outage'}); {why}: not sent")
            self._outbox.append((time.monotonic(), payload))
            start = not self._flushing
            self._flushing = True
        if start:
            self.backend.spawn(self._flush)

    async def _flush(self) -> None:
        """Send the held messages in order once the broker takes them again (and, after
        a broker outage, once the other nodes are likely to listen again)."""
        delay = self.backoff[0]
        reconnects = self._counts["reconnects"]
        known = set(self.alive_nodes())
        back_at = 0.0
        while True:
            with self._lock:
                if not self._outbox or not self.running:
                    self._flushing = False
                    return
                held_at, payload = self._outbox[0]
            if time.monotonic() - held_at > self.outbox_age:
                with self._lock:
                    self._outbox.popleft()
                self._counts["failed"] += 1
                self.logger.warning("message queue: a held message expired after %s s",
                                    self.outbox_age)
                continue
            if back_at == 0.0:
                back_at = await self._broker_back()
                if back_at == 0.0:
                    await self.backend.sleep(delay)
                    delay = min(delay * 2, self.backoff[1])
                    continue
            if not self._others_listening(reconnects, known, back_at):
                await self.backend.sleep(0.02)
                continue
            try:
                await self.broker.publish(payload)
            except ConnectionError:
                self._counts["publish_failures"] += 1
                await self.backend.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            self._counts["published"] += 1
            with self._lock:
                self._outbox.popleft()

    async def _broker_back(self) -> float:
        """Whether the broker takes messages (a probe nobody acts on): when, or 0.0."""
        try:
            await self.broker.publish(self.codec.encode("probe", self.node, dst=self.node))
        except ConnectionError:
            self._counts["publish_failures"] += 1
            return 0.0
        return time.monotonic()

    def _others_listening(self, reconnects: int, known: set[str], back_at: float) -> bool:
        """Held messages published before the other nodes resubscribe would be lost for
        them: after an outage, wait (at most FLUSH_GRACE seconds) until they are back."""
        now = time.monotonic()
        if now - back_at > FLUSH_GRACE:
            return True
        if not self.listening:
            return False  # an emitter cannot see the others: it waits the whole grace
        if not self.connected:
            return False
        if self._counts["reconnects"] == reconnects and self._connected_at < back_at:
            return True  # our subscription survived: a passing publish error, no outage
        # every node reconnecting says hello; our own hello makes the others answer
        return all(self._nodes.get(node, 0.0) >= self._connected_at for node in known)

    async def _last_flush(self) -> None:
        """On the way out: send what the outbox holds while the broker takes it."""
        while self._outbox:
            try:
                await self.broker.publish(self._outbox[0][1])
            except ConnectionError:
                self._counts["failed"] += len(self._outbox)
                self.logger.warning("message queue: %d held message(s) not sent at shutdown",
                                    len(self._outbox))
                self._outbox.clear()
                return
            self._outbox.popleft()
            self._counts["published"] += 1

    # -- listening ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.backoff[0]
        failing = False
        while self.running:
            self._probe_sent = 0.0
            try:
                async for data in self.broker.listen():
                    if not self.connected:
                        self.connected = True
                        self._connected_at = time.monotonic()
                        delay = self.backoff[0]
                        if failing:
                            failing = False
                            self._counts["reconnects"] += 1
                            self.logger.warning("message queue %s: listening again",
                                                self.health().broker)
                        await self._send("hello")
                    await self._receive(data)
                    if not self.running:
                        break
                if self.running:
                    raise ConnectionError("the listener ended")
            except Exception as exc:
                if not self.running:
                    break
                if not failing:
                    failing = True
                    if self._deaf:  # _beat restarted it and said so already
                        self._deaf = False
                        continue
                    self.logger.error("message queue %s: listener lost (%s); reconnecting",
                                      self.health().broker, exc)
            self.connected = False
            self._wake.set()  # the heartbeat task starts probing at once
            if self.running:
                await self.backend.sleep(delay)
                delay = min(delay * 2, self.backoff[1])

    async def _beat(self) -> None:
        """Probe until subscribed, then beat; restart a listener that went deaf."""
        while self.running:
            now = time.monotonic()
            if not self.connected:
                if now - self._probe_sent > 0.2:
                    self._probe_sent = now
                    await self._send("probe", dst=self.node)
                await self.backend.sleep(0.05)
                continue
            await self._send("beat")
            self._forget_silent_nodes()
            if self._heard_self and now - self._heard_self > 3 * self.heartbeat + 1:
                # our own beats stopped coming back: the subscription is dead without an
                # error (it happens behind some proxies); start it again
                self.logger.error("message queue %s: listener deaf for %.0f s; reconnecting",
                                  self.health().broker, now - self._heard_self)
                self._heard_self = 0.0
                self._deaf = True
                self.connected = False
                await self.broker.close()
            # woken early when the listener is lost, to probe for its return
            await self.backend.wait_event(self._wake, self.heartbeat)
            self._wake.clear()

    async def _send(self, kind: str, **fields: Any) -> None:
        """Publish a control message; failures only show in the counters."""
        try:
            await self.broker.publish(self.codec.encode(kind, self.node, **fields))
        except ConnectionError:
            self._counts["publish_failures"] += 1

    async def _receive(self, data: bytes) -> None:
        try:
            message = self.codec.decode(data)
        except DroppedMessage as exc:
            self._dropped[exc.category] = self._dropped.get(exc.category, 0) + 1
            if self._dropped[exc.category] == 1:
                self.logger.warning("message queue: refused a message (%s)", exc.reason)
            return
        self._counts["received"] += 1
        self._last_message_at = time.time()
        kind, node = message["k"], message["n"]
        if node == self.node:
            if kind in ("beat", "probe", "hello"):
                self._heard_self = time.monotonic()
            return
        if kind == "probe":
            return
        if kind == "bye":
            self._nodes.pop(node, None)
        else:
            self._nodes[node] = time.monotonic()
            if kind == "hello" and self.listening:
                await self._send("beat")  # let the newcomer know us at once
        if self.on_message is not None:
            try:
                await self.on_message(message)
            except Exception:
                self.logger.exception("message queue: handling a %r message failed", kind)
