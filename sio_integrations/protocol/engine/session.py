"""Per-session Engine.IO state (sans-IO): transport, upgrade, heartbeat deadlines, outbox.

Time never comes from a clock here: every method that needs it takes ``now`` (seconds,
monotonic), so the state machine is tested by passing numbers.
"""

from __future__ import annotations

import enum
import json

from ...errors import LocalProtocolError, RemoteProtocolError
from .requests import ErrorCode, RequestError

POLLING = "polling"
WEBSOCKET = "websocket"


class UpgradeState(enum.Enum):
    NONE = "none"  # polling, no websocket attached
    PROBING = "probing"  # a websocket is attached, waiting for "2probe"
    UPGRADING = "upgrading"  # "3probe" sent, waiting for "5"; polls are answered with noop
    UPGRADED = "upgraded"  # the websocket is the transport


# The one transition table of the upgrade; anything else raises.
_UPGRADE_TRANSITIONS = {
    ("start", UpgradeState.NONE): UpgradeState.PROBING,
    ("probe", UpgradeState.PROBING): UpgradeState.UPGRADING,
    ("upgrade", UpgradeState.UPGRADING): UpgradeState.UPGRADED,
    ("abort", UpgradeState.PROBING): UpgradeState.NONE,
    ("abort", UpgradeState.UPGRADING): UpgradeState.NONE,
}


class Heartbeat(enum.Enum):
    IDLE = "idle"  # nothing to do now
    PING = "ping"  # send a ping now (the pong deadline has been set)
    TIMEOUT = "timeout"  # no pong in time: close with "ping timeout"


class PollMode(enum.Enum):
    WAIT = "wait"  # wait for the outbox (or answer it at once when not empty)
    NOOP = "noop"  # an upgrade is under way: answer a noop so the client moves on


def to_ms(seconds: float) -> int:
    """Seconds to whole milliseconds, keeping sub-second values (0.2 -> 200)."""
    return int(round(seconds * 1000))


def open_frame(
    *, sid: str, upgrades: list[str], ping_interval: float, ping_timeout: float, max_payload: int
) -> str:
    """The OPEN packet of the handshake."""
    body = {
        "sid": sid,
        "upgrades": upgrades,
        "pingInterval": to_ms(ping_interval),
        "pingTimeout": to_ms(ping_timeout),
        "maxPayload": max_payload,
    }
    return "0" + json.dumps(body, separators=(",", ":"))


class Session:
    """State of one Engine.IO session."""

    __slots__ = (
        "sid", "transport", "upgrade", "ping_interval", "ping_timeout", "upgrade_timeout",
        "next_ping_at", "pong_deadline", "upgrade_deadline", "polling", "posting", "closed",
        "close_reason", "outbox",
    )

    def __init__(
        self,
        sid: str,
        *,
        transport: str,
        now: float,
        ping_interval: float,
        ping_timeout: float,
        upgrade_timeout: float = 10.0,
    ) -> None:
        if transport not in (POLLING, WEBSOCKET):
            raise LocalProtocolError(f"unknown transport {transport!r}")
        self.sid = sid
        self.transport = transport
        self.upgrade = UpgradeState.UPGRADED if transport == WEBSOCKET else UpgradeState.NONE
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.upgrade_timeout = upgrade_timeout
        self.next_ping_at = now + ping_interval
        self.pong_deadline: float | None = None
        self.upgrade_deadline: float | None = None
        self.polling = False  # a long-polling GET is waiting
        self.posting = False  # a long-polling POST is being read
        self.closed = False
        self.close_reason: str | None = None
        #: frames waiting for the next poll (or for the end of an upgrade)
        self.outbox: list[str | bytes] = []  # (a list: an empty deque costs 600+ bytes)

    # heartbeat --------------------------------------------------------------------------
    def heartbeat(self, now: float) -> Heartbeat:
        """What the heartbeat requires at ``now``; PING also starts the pong deadline."""
        if self.closed:
            return Heartbeat.IDLE
        if self.pong_deadline is not None:
            return Heartbeat.TIMEOUT if now >= self.pong_deadline else Heartbeat.IDLE
        if now >= self.next_ping_at:
            self.pong_deadline = now + self.ping_timeout
            return Heartbeat.PING
        return Heartbeat.IDLE

    def timed_out(self, now: float) -> bool:
        return not self.closed and self.pong_deadline is not None and now >= self.pong_deadline

    def next_deadline(self) -> float:
        """The earliest time at which :meth:`heartbeat` or the upgrade timer may act."""
        deadline = self.pong_deadline if self.pong_deadline is not None else self.next_ping_at
        if self.upgrade_deadline is not None:
            deadline = min(deadline, self.upgrade_deadline)
        return deadline

    def on_pong(self, now: float) -> None:
        self.pong_deadline = None
        self.next_ping_at = now + self.ping_interval

    # long polling -----------------------------------------------------------------------
    def begin_poll(self) -> PollMode | RequestError:
        """A long-polling GET arrives: answer, wait, or refuse (and maybe close)."""
        if self.transport != POLLING:
            return RequestError(
                code=ErrorCode.BAD_REQUEST, reason="polling request after the websocket upgrade"
            )
        if self.polling:
            return RequestError(
                code=ErrorCode.BAD_REQUEST,
                reason="overlapping long-polling GET requests",
                close_session=True,
            )
        if self.upgrade is UpgradeState.UPGRADING:
            return PollMode.NOOP
        self.polling = True
        return PollMode.WAIT

    def end_poll(self) -> None:
        self.polling = False

    def begin_post(self) -> RequestError | None:
        if self.transport != POLLING:
            return RequestError(
                code=ErrorCode.BAD_REQUEST, reason="polling request after the websocket upgrade"
            )
        if self.posting:
            return RequestError(
                code=ErrorCode.BAD_REQUEST,
                reason="overlapping long-polling POST requests",
                close_session=True,
            )
        self.posting = True
        return None

    def end_post(self) -> None:
        self.posting = False

    def take_outbox(self) -> list[str | bytes]:
        frames, self.outbox = self.outbox, []  # (no copy)
        return frames

    # upgrade ----------------------------------------------------------------------------
    def _transition(self, event: str) -> None:
        target = _UPGRADE_TRANSITIONS.get((event, self.upgrade))
        if target is None:
            raise RemoteProtocolError(f"unexpected {event} while {self.upgrade.value}")
        self.upgrade = target

    def start_upgrade(self, now: float) -> RequestError | None:
        """A websocket arrives for this session; refuse it unless an upgrade may start."""
        if self.closed or self.upgrade is not UpgradeState.NONE:
            return RequestError(
                code=ErrorCode.BAD_REQUEST,
                reason=f"websocket refused: session is {self.upgrade.value}",
            )
        self._transition("start")
        self.upgrade_deadline = now + self.upgrade_timeout
        return None

    def on_probe(self) -> None:
        """The ``2probe`` arrived on the new websocket (raises when out of order)."""
        self._transition("probe")

    def on_upgrade(self) -> None:
        """The ``5`` arrived: the websocket becomes the transport."""
        self._transition("upgrade")
        self.transport = WEBSOCKET
        self.upgrade_deadline = None

    def abort_upgrade(self) -> None:
        if self.upgrade in (UpgradeState.PROBING, UpgradeState.UPGRADING):
            self._transition("abort")
        self.upgrade_deadline = None

    def upgrade_expired(self, now: float) -> bool:
        return self.upgrade_deadline is not None and now >= self.upgrade_deadline

    # closing ----------------------------------------------------------------------------
    def close(self, reason: str) -> bool:
        """Mark the session closed; False when it already was."""
        if self.closed:
            return False
        self.closed = True
        self.close_reason = reason
        return True
