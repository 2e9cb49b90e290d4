"""Session fixtures of the interop suite (helpers live in harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.harness import ServerPool, find_node


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerPool]:
    """Server subprocesses shared by the whole session, stopped at its end."""
    pool = ServerPool()
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the harness's npm packages installed."""
    return find_node()
