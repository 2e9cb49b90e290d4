"""Logger selection (python-socketio's ``logger=`` / ``engineio_logger=`` semantics) and the
rate limit on the WARNING lines that misbehaving clients cause.

Every hostile input is logged as one WARNING line without a traceback. An attacker with
many clients would turn that into a flood, so :data:`warning_limiter` (a
:class:`logging.Filter` on the server's and the engine's loggers) lets through at most
``burst`` lines of each kind at once, refilled at ``lines_per_second``, and replaces the
rest with one line per kind every ``summary_interval`` seconds: ``suppressed 1234 similar
warnings in the last 10 s (last: ...)``. A *kind* is the message template of the call site
(``"Engine.IO request refused: %s (...)"``), so a flood of one kind never hides another.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["WarningLimiter", "limit_warnings", "make_logger", "warning_limiter"]

#: records logged by code in this package (only those are limited on a shared logger)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: ``extra`` key marking a summary line, which is never limited itself
SUMMARY = "sio_integrations_summary"
#: kinds tracked at once; beyond that new kinds are let through unlimited (call sites are
#: a fixed set, so this only bounds memory if a user logger sees arbitrary templates)
MAX_KINDS = 1024


def make_logger(name: str, setting: Any) -> logging.Logger:
    """``True``: INFO and above; ``False``: WARNING and above; a Logger: used as given.

    python-socketio's default level is ERROR; ours is WARNING so that the single line
    logged for each misbehaving client reaches operators. Either way the logger gets
    :data:`warning_limiter` (which only limits lines logged by this package).
    """
    if isinstance(setting, logging.Logger):
        return limit_warnings(setting)
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO if setting else logging.WARNING)
    if not logging.root.handlers and not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    return limit_warnings(logger)


def limit_warnings(logger: logging.Logger) -> logging.Logger:
    """Attach :data:`warning_limiter` to ``logger`` (idempotent); returns the logger."""
    logger.addFilter(warning_limiter)
    return logger


@dataclass
class _Kind:
    logger: str
    tokens: float
    refilled: float
    suppressed: int = 0
    since: float = 0.0
    last: str = ""


class WarningLimiter(logging.Filter):
    """A token bucket per kind of WARNING line, with a periodic summary of what it dropped.

    ``lines_per_second`` (refill rate) and ``burst`` (bucket size) apply to each kind
    separately; ``summary_interval`` is how long after the first dropped line its summary
    is written (from a timer thread). ``None`` for ``lines_per_second`` turns it off.
    """

    def __init__(self, *, lines_per_second: float | None = 5.0, burst: int = 50,
                 summary_interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], _Kind] = {}
        self._timer: threading.Timer | None = None
        self.clock = clock
        self.lines_per_second = lines_per_second
        self.burst = burst
        self.summary_interval = summary_interval
        self.configure(lines_per_second=lines_per_second, burst=burst,
                       summary_interval=summary_interval)

    def configure(self, *, lines_per_second: float | None = 5.0, burst: int = 50,
                  summary_interval: float = 10.0) -> None:
        """Set the limits (every keyword has its default) and start afresh: pending
        summaries are written first, then every bucket is full again."""
        if lines_per_second is not None and lines_per_second <= 0:
            raise ValueError("lines_per_second must be > 0 or None")
        if burst < 1 or summary_interval <= 0:
            raise ValueError("burst must be >= 1 and summary_interval > 0")
        self.flush()
        with self._lock:
            self.lines_per_second = lines_per_second
            self.burst = burst
            self.summary_interval = summary_interval
            self._kinds.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        rate = self.lines_per_second
        if (record.levelno != logging.WARNING or rate is None
                or getattr(record, SUMMARY, False)
                or not record.pathname.startswith(_PACKAGE_DIR)):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            kind = self._kinds.get(key)
            if kind is None:
                if len(self._kinds) >= MAX_KINDS:
                    return True
                kind = self._kinds[key] = _Kind(record.name, float(self.burst), now)
            kind.tokens = min(float(self.burst), kind.tokens + (now - kind.refilled) * rate)
            kind.refilled = now
            if kind.tokens >= 1.0:
                kind.tokens -= 1.0
                return True
            if not kind.suppressed:
                kind.since = now
            kind.suppressed += 1
            kind.last = _message(record)
            if self._timer is None:
                self._timer = threading.Timer(self.summary_interval, self._on_timer)
                self._timer.daemon = True
                self._timer.start()
        return False

    def flush(self) -> int:
        """Write the summary of every kind with dropped lines now; returns how many."""
        now = self.clock()
        with self._lock:
            timer, self._timer = self._timer, None
            pending = [(kind.logger, kind.suppressed, now - kind.since, kind.last)
                       for kind in self._kinds.values() if kind.suppressed]
            for kind in self._kinds.values():
                kind.suppressed = 0
        if timer is not None:
            timer.cancel()
        for name, count, elapsed, last in pending:
            logging.getLogger(name).warning(
                "suppressed %d similar warnings in the last %.0f s (last: %s)",
                count, max(1.0, elapsed), last, extra={SUMMARY: True})
        return len(pending)

    def suppressed(self) -> int:
        """Lines dropped since the last summary (all kinds)."""
        with self._lock:
            return sum(kind.suppressed for kind in self._kinds.values())

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must not break logging
        return str(record.msg)


#: the limiter on every logger :func:`make_logger` returns; ``configure()`` it to tune
warning_limiter = WarningLimiter()
