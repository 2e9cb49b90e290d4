"""A flood of requests from a foreign origin (CORSMiddleware policy) does not flood the log:
the router's "refused ... from origin" WARNING line is rate-limited like the engine's."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sio_integrations.runtime.logs import warning_limiter

from .chatapp import make_app

POLL = {"EIO": "4", "transport": "polling"}


@pytest.fixture(autouse=True)
def fresh_limit() -> Iterator[None]:
    warning_limiter.configure()
    yield
    warning_limiter.configure()


def test_foreign_origin_flood_is_summarized(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sio_integrations.fastapi")
    app, _, _ = make_app(cors={"allow_origins": ["http://front.example"],
                               "allow_methods": ["*"], "allow_headers": ["*"]})
    with TestClient(app, base_url="http://api.example") as http:
        # one refused page: its line is there at once
        first = http.get("/socket.io/", params=POLL, headers={"origin": "http://evil.example"})
        assert first.status_code == 400
        lines = [r for r in caplog.records if "refused a Socket.IO request" in r.getMessage()]
        assert len(lines) == 1 and "evil.example" in lines[0].getMessage()
        for n in range(400):
            answer = http.get("/socket.io/", params=POLL,
                              headers={"origin": f"http://evil{n}.example"})
            assert answer.status_code == 400  # every request still refused
    lines = [r for r in caplog.records if "refused a Socket.IO request" in r.getMessage()]
    assert 50 <= len(lines) < 200, len(lines)
    assert warning_limiter.flush() == 1
    summary = [r.getMessage() for r in caplog.records if "suppressed" in r.getMessage()]
    assert len(summary) == 1 and "evil" in summary[0], summary
    count = int(summary[0].split()[1])
    assert count + len(lines) == 401
