"""Reconnection delays: exponential backoff with proportional jitter.

The JS client (``backo2``) computes ``delay * 2**attempt`` and then moves it up or down by
up to ``randomization_factor`` of itself, capped at ``reconnection_delay_max``. A factor of
0.5 therefore gives delays between 50% and 150% of the nominal value. (python-socketio adds
``randomization_factor * random()`` *seconds*, so its jitter does not scale with the delay
and is never negative.)
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["backoff_delay"]


def backoff_delay(attempt: int, *, delay: float, delay_max: float, randomization_factor: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnection attempt number ``attempt`` (0 for the first)."""
    # cap the exponent first: 2**attempt overflows a float after ~1000 attempts
    nominal: float = min(delay * 2.0 ** min(attempt, 64), delay_max)
    if randomization_factor:
        nominal *= 1 + randomization_factor * (2 * rand() - 1)
    return max(0.0, min(nominal, delay_max))
