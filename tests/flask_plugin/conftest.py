"""Fixtures of the Flask plugin tests: the real redis-server of tests/services.py."""

from tests.services import redis_server

__all__ = ["redis_server"]
