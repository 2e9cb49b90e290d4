"""Flood control: the server's ``rate_limiter`` hook and a small built-in limiter.

The server calls a limiter at three points (any object with these methods will do):

* ``connection_opened(environ) -> bool`` when an Engine.IO session opens, before any
  Socket.IO state exists; False refuses it (HTTP 400 ``{"code":4}`` on long-polling, a
  closed websocket), with one WARNING line;
* ``connection_closed(environ)`` once for every session that ``connection_opened`` allowed;
* ``allow_event(sid, event, environ) -> bool`` before an event reaches its handler; False
  drops it (unacknowledged) and logs one WARNING line for that client;
* ``socket_closed(sid)`` when a socket leaves its namespace (forget per-socket state).

Calls come from the transport reader (threads in the synchronous server), so a limiter must
be quick and thread-safe. :class:`RateLimiter` keeps per-address connection counts and a
token bucket per socket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["Limiter", "RateLimiter", "client_address"]


class Limiter(Protocol):
    def connection_opened(self, environ: Mapping[str, Any]) -> bool: ...

    def connection_closed(self, environ: Mapping[str, Any]) -> None: ...

    def allow_event(self, sid: str, event: str, environ: Mapping[str, Any]) -> bool: ...

    def socket_closed(self, sid: str) -> None: ...


def client_address(environ: Mapping[str, Any]) -> str:
    """The peer's address as the host reports it (``REMOTE_ADDR``).

    Behind a reverse proxy every client has the proxy's address: pass ``key=`` to
    :class:`RateLimiter` reading the header your proxy sets (and only when it is the proxy
    that sets it), e.g. ``lambda env: env["HTTP_X_REAL_IP"]``.
    """
    return str(environ.get("REMOTE_ADDR") or "?")


class RateLimiter:
    """At most ``connections_per_ip`` open sessions per address, and per socket a token
    bucket of ``event_burst`` events refilled at ``events_per_second``.

    ``None`` turns either limit off. ``key(environ)`` names the client (default: its
    address, see :func:`client_address`).
    """

    def __init__(self, *, connections_per_ip: int | None = 50,
                 events_per_second: float | None = 50.0, event_burst: int = 100,
                 key: Callable[[Mapping[str, Any]], str] = client_address,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if connections_per_ip is not None and connections_per_ip < 1:
            raise ValueError("connections_per_ip must be >= 1 or None")
        if events_per_second is not None and events_per_second <= 0:
            raise ValueError("events_per_second must be > 0 or None")
        if event_burst < 1:
            raise ValueError("event_burst must be >= 1")
        self.connections_per_ip = connections_per_ip
        self.events_per_second = events_per_second
        self.event_burst = event_burst
        self.key = key
        self.clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}
        #: sid -> (tokens, last refill); forgotten when the socket's session closes
        self._buckets: dict[str, tuple[float, float]] = {}

    def connection_opened(self, environ: Mapping[str, Any]) -> bool:
        if self.connections_per_ip is None:
            return True
        key = self.key(environ)
        with self._lock:
            count = self._open.get(key, 0)
            if count >= self.connections_per_ip:
                return False
            self._open[key] = count + 1
        return True

    def connection_closed(self, environ: Mapping[str, Any]) -> None:
        if self.connections_per_ip is None:
            return
        key = self.key(environ)
        with self._lock:
            count = self._open.get(key, 0) - 1
            if count > 0:
                self._open[key] = count
            else:
                self._open.pop(key, None)

    def allow_event(self, sid: str, event: str, environ: Mapping[str, Any]) -> bool:
        rate = self.events_per_second
        if rate is None:
            return True
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(sid, (float(self.event_burst), now))
            tokens = min(float(self.event_burst), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[sid] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def socket_closed(self, sid: str) -> None:
        with self._lock:
            self._buckets.pop(sid, None)
