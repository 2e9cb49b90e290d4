"""WARNING lines are rate-limited across clients (issue 10, point b).

One line per hostile input is right for one attacker; 2,000 attackers must not produce
2,000 lines. Each kind of line (its message template) has a token bucket; what it drops is
counted and reported in a periodic ``suppressed K similar warnings`` line.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import logging
import re
import time
from typing import Any

import pytest

from sio_integrations.runtime.logs import warning_limiter
from tests.runtime.live import wait_until

from .conftest import PATH, Live, Warnings, assert_echo

SUMMARY = re.compile(r"suppressed (\d+) similar warnings in the last \d+ s \(last: (.*)\)$")
REFUSED = "Engine.IO request refused"
BURST, RATE = 50, 5.0  # the limiter's defaults


def _forged_poll(live: Live, n: int) -> int:
    """One request for an unknown session from 127.0.0.<2..51> (a different address per
    client, so the lines are not all about one peer); returns the status."""
    source = f"127.0.0.{2 + n % 50}"
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("GET", f"{PATH}?EIO=4&transport=polling&sid=FORGED{n:014d}")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _lines(warnings: Warnings, needle: str) -> list[str]:
    return [r.getMessage() for r in warnings.records()
            if needle in r.getMessage() and not SUMMARY.search(r.getMessage())]


def _summaries(warnings: Warnings) -> list[tuple[int, str]]:
    found = []
    for record in warnings.records():
        match = SUMMARY.search(record.getMessage())
        if match:
            assert record.levelno == logging.WARNING and record.exc_info is None
            found.append((int(match.group(1)), match.group(2)))
    return found


def test_two_thousand_bad_requests_give_a_bounded_log(make_live: Any, warnings: Warnings
                                                      ) -> None:
    live = make_live()
    warning_limiter.configure(summary_interval=1.0)
    bystander = live.client()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: _forged_poll(live, n), range(2000)))
    elapsed = time.monotonic() - start
    assert statuses == [400] * 2000  # every attacker still gets its clear answer
    shown = _lines(warnings, REFUSED)
    # the burst, then RATE lines a second: bounded by the duration, not by the clients
    assert BURST <= len(shown) <= BURST + RATE * (elapsed + 1) + 1, (len(shown), elapsed)
    assert all("unknown session id" in line for line in shown), shown[:3]
    # every dropped line is accounted for by the summaries (written within the interval)
    wait_until(lambda: sum(k for k, _ in _summaries(warnings)) + len(_lines(
        warnings, REFUSED)) >= 2000, 10, "summaries of the suppressed lines")
    summaries = _summaries(warnings)
    assert sum(k for k, _ in summaries) + len(_lines(warnings, REFUSED)) == 2000
    assert all("unknown session id" in last and "FORGED" in last for _, last in summaries)
    assert warning_limiter.suppressed() == 0
    assert_echo(bystander)


def test_a_single_bad_client_is_logged_at_once(live: Live, warnings: Warnings) -> None:
    forged = "BBBBBBBBBBBBBBBBBBBB"
    assert live.poll(forged).error_code() == 1
    # the line is written before the answer is sent: no waiting
    assert len(_lines(warnings, forged)) == 1
    warnings.assert_one("unknown session id", forged, timeout=0)


def test_a_flood_of_one_kind_does_not_hide_another(live: Live, warnings: Warnings) -> None:
    for n in range(BURST + 100):
        assert _forged_poll(live, n) == 400
    assert warning_limiter.suppressed() >= 90
    # a different kind of hostile input, right after the flood: its line is there at once
    sid = live.handshake()
    assert live.post(sid, b"40").body == b"ok"
    response = live.post(sid, b"4X")  # not a Socket.IO packet
    assert response.status in (200, 400)
    wait_until(lambda: _lines(warnings, sid), 2, "the bad packet's line")
    assert len(_lines(warnings, sid)) == 1
    assert warning_limiter.flush() == 1  # one summary, for the flooded kind only
    (count, last), = _summaries(warnings)
    assert count == BURST + 100 - len(_lines(warnings, "FORGED")), count
    assert "FORGED" in last


@pytest.mark.parametrize("clients", [300])
def test_many_clients_sending_bad_packets(make_live: Any, warnings: Warnings,
                                          clients: int) -> None:
    """The Socket.IO layer's line ("client ... sent bad input") is limited the same way."""
    live = make_live()
    warning_limiter.configure(lines_per_second=1.0, burst=10, summary_interval=60)

    def attack(n: int) -> str:
        sid = live.handshake()
        assert live.post(sid, b"40").body == b"ok"
        live.post(sid, b'42["connect"]')  # a reserved event name: closes the connection
        return sid

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sids = list(pool.map(attack, range(clients)))
    wait_until(lambda: len(_lines(warnings, "bad input")) + warning_limiter.suppressed()
               >= clients, 10, "every bad packet to be seen")
    shown = _lines(warnings, "bad input")
    assert 10 <= len(shown) < clients / 2, len(shown)
    assert warning_limiter.flush() == 1
    (count, last), = _summaries(warnings)
    assert count + len(shown) == clients
    assert any(sid in last for sid in sids)
