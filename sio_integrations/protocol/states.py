"""The per-namespace state machine, in one table shared by both sides.

Both ends of a connection track the same state for each namespace; the table is keyed by
``(state, who sent the event, event class)``. A server applies it with ``Role.SERVER`` to
what it sends and ``Role.CLIENT`` to what it receives; a client does the reverse. A missing
key is an invalid transition: our fault (:class:`LocalProtocolError`) when we are the
sender, the peer's (:class:`RemoteProtocolError`) otherwise.

Deliberate asymmetries, all taken from how the JS implementations behave:

* the server may send events while a namespace is CONNECTING (an application emitting from
  its ``connect`` handler): clients buffer those until CONNECT arrives. A client may not:
  the JS server closes the connection when it does;
* acknowledgements may travel while CONNECTING in both directions, for those early events;
* only the server ends a CONNECTING namespace (CONNECT_ERROR); the client may only leave a
  namespace once it is CONNECTED.
"""

from __future__ import annotations

import enum

from ..errors import LocalProtocolError, RemoteProtocolError
from .events import Ack, Connect, ConnectError, Disconnect, Event

__all__ = ["TRANSITIONS", "NamespaceState", "Role", "next_state"]


class NamespaceState(enum.Enum):
    """Where a namespace stands on one connection."""

    # Enum's own __hash__ is Python code hashing the name; members are singletons, so the
    # identity hash is equivalent and keeps the transition lookups cheap
    __hash__ = object.__hash__

    #: not connected (every namespace a connection has no record of)
    ABSENT = "absent"
    #: the client sent CONNECT, the server has not answered yet
    CONNECTING = "connecting"
    #: the server accepted the CONNECT
    CONNECTED = "connected"


class Role(enum.Enum):
    """Which side of the connection sent an event."""

    __hash__ = object.__hash__  # see NamespaceState

    SERVER = "server"
    CLIENT = "client"


_A = NamespaceState.ABSENT
_CING = NamespaceState.CONNECTING
_CED = NamespaceState.CONNECTED
_S = Role.SERVER
_C = Role.CLIENT

#: (state, sender, event class) -> next state
TRANSITIONS: dict[tuple[NamespaceState, Role, type], NamespaceState] = {
    (_A, _C, Connect): _CING,
    (_CING, _S, Connect): _CED,
    (_CING, _S, ConnectError): _A,
    (_CING, _S, Event): _CING,
    (_CING, _S, Ack): _CING,
    (_CING, _C, Ack): _CING,
    (_CED, _S, Event): _CED,
    (_CED, _C, Event): _CED,
    (_CED, _S, Ack): _CED,
    (_CED, _C, Ack): _CED,
    (_CED, _S, Disconnect): _A,
    (_CED, _C, Disconnect): _A,
}


def next_state(
    state: NamespaceState, sender: Role, kind: type, *, local: bool, namespace: str = "/"
) -> NamespaceState:
    """The state after ``sender`` sends a ``kind`` event; raise if that is not allowed.

    ``local`` says whether the sender is our side (which error class to raise).
    """
    new = TRANSITIONS.get((state, sender, kind))
    if new is None:
        reason = (
            f"{sender.value} cannot send {kind.__name__} on namespace {namespace!r} "
            f"while it is {state.value}"
        )
        if local:
            raise LocalProtocolError(reason)
        raise RemoteProtocolError(reason)
    return new
