"""The seam between a message-queue manager and one broker client.

A broker moves opaque byte strings between the server processes of a cluster: everything
it publishes reaches every listener on the same channel (including the publisher's own,
which the manager filters out). The manager owns the message format, signing, supervision,
retries and the outbox; a broker only connects, publishes and listens.

Brokers for Redis and RabbitMQ live in this package; plugins may add their own (the Django
plugin's Channels channel layer is one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class AsyncBroker(Protocol):
    """What a message-queue manager needs from a broker client."""

    #: short name for logs and health reports, e.g. ``"redis"``
    name: str

    async def publish(self, payload: bytes) -> None:
        """Hand ``payload`` to the broker, or raise ``ConnectionError`` if it was not
        accepted (the caller decides whether to retry, queue or report it)."""
        ...

    def listen(self) -> AsyncIterator[bytes]:
        """Connect, subscribe and yield every message published on the channel.

        Raises ``ConnectionError`` (or ends) when the connection is lost; the manager
        supervises the listener and calls ``listen()`` again, so an implementation must not
        retry by itself and must release its connection when the iterator is closed.
        """
        ...

    async def close(self) -> None:
        """Release every connection; a later ``publish`` or ``listen`` reconnects."""
        ...
