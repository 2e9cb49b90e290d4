"""Bounds on what a peer's payload may contain, checked without recursion."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_NESTING", "finite_float", "too_deep"]

#: deepest nesting of lists/maps accepted from a peer. Deeper values decode only up to the
#: interpreter's recursion limit minus the current stack, so a slightly shallower one would
#: decode in the reader and then raise RecursionError later, deep inside a handler or
#: while encoding its acknowledgement; a fixed bound far below the limit makes the outcome
#: one clear protocol error instead. (The JS server has no bound but its stack.)
MAX_NESTING = 256


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether lists/tuples/dicts in ``value`` nest more than ``limit`` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    containers = (list, tuple, dict)
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, containers))
    return False


def finite_float(text: str) -> float:
    """``parse_float`` for JSON: a literal too large for a float (``1e999``) is refused,
    as ``NaN``/``Infinity`` are, instead of arriving as ``inf`` and failing to encode."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value
