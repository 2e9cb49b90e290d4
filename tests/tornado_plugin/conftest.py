from __future__ import annotations

from tests.services import redis_server  # noqa: F401  (fixture)
