"""The namespace state table, exhaustively, through both connection classes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sio_integrations.errors import LocalProtocolError, RemoteProtocolError
from sio_integrations.protocol import (
    TRANSITIONS,
    Ack,
    ClientConnection,
    Connect,
    ConnectError,
    Disconnect,
    Event,
    JsonSerializer,
    NamespaceState,
    Packet,
    PacketType,
    Role,
    ServerConnection,
)
from sio_integrations.protocol.states import next_state

NS = "/n"
CODEC = JsonSerializer()
KINDS: list[type] = [Connect, ConnectError, Disconnect, Event, Ack]
S = NamespaceState


def sample(kind: type, sender: Role) -> Any:
    """An event of ``kind`` as ``sender`` would send it on namespace NS."""
    if kind is Connect:
        return Connect(namespace=NS, data={"sid": "abc"} if sender is Role.SERVER else None)
    if kind is ConnectError:
        return ConnectError(namespace=NS, data={"message": "refused"})
    if kind is Disconnect:
        return Disconnect(namespace=NS)
    if kind is Event:
        return Event(namespace=NS, name="e", args=[1], ack_id=None)
    return Ack(namespace=NS, ack_id=1, args=[2])


def wire(event: Any) -> list[str | bytes]:
    """The frames of ``event`` built without any connection (what the peer would send)."""
    kind = type(event)
    if kind is Event:
        return CODEC.encode_event(event.namespace, event.name, event.args, event.ack_id)
    if kind is Ack:
        return CODEC.encode_ack(event.namespace, event.ack_id, event.args)
    ptype = {
        Connect: PacketType.CONNECT,
        ConnectError: PacketType.CONNECT_ERROR,
        Disconnect: PacketType.DISCONNECT,
    }[kind]
    return CODEC.encode(Packet(type=ptype, namespace=NS, data=getattr(event, "data", None)))


def receive(conn: Any, event: Any) -> Any:
    result = None
    for frame in wire(event):
        result = conn.receive_data(frame)
    return result


def connection_in(side: Role, state: NamespaceState) -> ServerConnection | ClientConnection:
    conn: ServerConnection | ClientConnection
    if side is Role.SERVER:
        conn = ServerConnection(CODEC)
        if state is not S.ABSENT:
            receive(conn, sample(Connect, Role.CLIENT))
        if state is S.CONNECTED:
            conn.send(sample(Connect, Role.SERVER))
    else:
        conn = ClientConnection(CODEC)
        if state is not S.ABSENT:
            conn.send(sample(Connect, Role.CLIENT))
        if state is S.CONNECTED:
            receive(conn, sample(Connect, Role.SERVER))
    assert conn.state(NS) is state
    return conn


ALL = list(itertools.product(S, Role, KINDS))


def test_table_covers_only_known_names() -> None:
    for state, sender, kind in TRANSITIONS:
        assert (state, sender, kind) in ALL


@pytest.mark.parametrize("side", list(Role))
@pytest.mark.parametrize(("state", "sender", "kind"), ALL)
def test_every_transition(side: Role, state: NamespaceState, sender: Role, kind: type) -> None:
    """Valid entries move both sides to the table's state; every other one raises,
    with the error class saying who is at fault."""
    conn = connection_in(side, state)
    event = sample(kind, sender)
    expected = TRANSITIONS.get((state, sender, kind))
    ours = sender is side
    if expected is None:
        if ours:
            with pytest.raises(LocalProtocolError):
                conn.send(event)
        else:
            with pytest.raises(RemoteProtocolError):
                receive(conn, event)
        assert conn.state(NS) is state  # a refused event changes nothing
        return
    if ours:
        frames = conn.send(event)
        assert frames == wire(event)
    else:
        assert receive(conn, event) == event
    assert conn.state(NS) is expected


@pytest.mark.parametrize(("state", "sender", "kind"), ALL)
def test_next_state_function(state: NamespaceState, sender: Role, kind: type) -> None:
    expected = TRANSITIONS.get((state, sender, kind))
    if expected is None:
        with pytest.raises(LocalProtocolError, match=kind.__name__):
            next_state(state, sender, kind, local=True, namespace=NS)
        with pytest.raises(RemoteProtocolError, match=NS):
            next_state(state, sender, kind, local=False, namespace=NS)
    else:
        assert next_state(state, sender, kind, local=True) is expected
        assert next_state(state, sender, kind, local=False) is expected


def test_table_is_the_documented_one() -> None:
    """Spot checks of the rules that matter most to applications."""
    # the server may emit from its connect handler; the client may not emit before CONNECT
    assert TRANSITIONS[(S.CONNECTING, Role.SERVER, Event)] is S.CONNECTING
    assert (S.CONNECTING, Role.CLIENT, Event) not in TRANSITIONS
    # only the server refuses; nobody disconnects a namespace that is still connecting
    assert (S.CONNECTING, Role.CLIENT, ConnectError) not in TRANSITIONS
    assert (S.CONNECTING, Role.SERVER, Disconnect) not in TRANSITIONS
    assert (S.CONNECTING, Role.CLIENT, Disconnect) not in TRANSITIONS
    # a second CONNECT is never valid
    assert (S.CONNECTED, Role.CLIENT, Connect) not in TRANSITIONS
    assert (S.CONNECTING, Role.CLIENT, Connect) not in TRANSITIONS
