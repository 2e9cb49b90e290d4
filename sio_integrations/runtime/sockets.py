"""Per-connection records shared by the sync and async servers (plain data, no I/O)."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable
from typing import Any

from ..protocol.acks import PendingAcks
from ..protocol.connection import ServerConnection


def new_sid() -> str:
    """A fresh Socket.IO session id (20 URL-safe characters, like the JS server's)."""
    return secrets.token_urlsafe(15)


class Client:
    """One Engine.IO session: its protocol state and the namespaces it joined."""

    __slots__ = ("eio_sid", "conn", "environ", "sockets", "opened_at", "bad_packets",
                 "inbox", "draining", "lock", "room", "throttled", "binary_pending")

    def __init__(self, eio_sid: str, conn: ServerConnection, environ: dict[str, Any],
                 opened_at: float, lock: Any) -> None:
        self.eio_sid = eio_sid
        self.conn = conn
        self.environ = environ
        #: namespace -> Socket, for the namespaces this client joined (or is joining)
        self.sockets: dict[str, Socket] = {}
        self.opened_at = opened_at
        self.bad_packets = 0
        #: events waiting to be handled, in arrival order
        self.inbox: list[Any] = []  # a list: far smaller than a deque when empty
        self.draining = False
        # guards inbox/draining between the transport reader and the drain worker (threads
        # in the sync server); never held across an await
        self.lock = lock
        #: set while the transport reader waits for the inbox to drain (backpressure)
        self.room: Any = None
        #: the rate limiter dropped an event of this client (logged once)
        self.throttled = False
        #: a BINARY_EVENT header was taken by ``engine_message_now``: its attachments are too
        self.binary_pending = False


#: events queued for one client before its transport reader is made to wait
INBOX_LIMIT = 256


class ClientClosed:
    """Queued after a client's pending events when its Engine.IO session ends."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Socket:
    """One client's membership of one namespace (what handlers know as ``sid``)."""

    __slots__ = ("sid", "namespace", "client", "session", "acks", "connected")

    def __init__(self, sid: str, namespace: str, client: Client) -> None:
        self.sid = sid
        self.namespace = namespace
        self.client = client
        self.session: dict[str, Any] = {}
        self.acks: PendingAcks[Callable[..., Any]] = PendingAcks()
        self.connected = False

    @property
    def eio_sid(self) -> str:
        return self.client.eio_sid


class AckWaiter:
    """The acknowledgement callback of one ``call()``: records the answer and wakes the
    caller; :meth:`cancel` wakes it without an answer (the socket went away)."""

    __slots__ = ("answered", "args", "event")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.answered = False
        self.args: tuple[Any, ...] = ()

    def __call__(self, *args: Any) -> None:
        self.args = args
        self.answered = True
        self.event.set()

    def cancel(self) -> None:
        self.event.set()


def as_args(value: Any) -> list[Any]:
    """An emit's ``data`` or a handler's return value as packet arguments.

    python-socketio's convention: a tuple is several arguments, None is none.
    """
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    return [value]


def call_result(args: list[Any] | tuple[Any, ...]) -> Any:
    """What ``call()`` returns for the acknowledgement arguments it received."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


_ARITY_CACHE: dict[Any, int] = {}


def positional_capacity(func: Callable[..., Any]) -> int:
    """How many positional arguments ``func`` accepts (a large number for ``*args``).

    Used to pick between python-socketio's alternative handler signatures
    (``connect(sid, environ[, auth])``, ``disconnect(sid[, reason])``) without calling
    the handler twice on ``TypeError``.
    """
    key = getattr(func, "__func__", func)
    bound = hasattr(func, "__self__")
    cached = _ARITY_CACHE.get((key, bound))
    if cached is not None:
        return cached
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        count = 1_000
    else:
        count = 0
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                count = 1_000
                break
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                count += 1
    _ARITY_CACHE[(key, bound)] = count
    return count
