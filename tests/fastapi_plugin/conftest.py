"""Fixtures of the FastAPI plugin tests."""

from tests.services import redis_server  # noqa: F401  (a real redis-server)
