"""One Socket.IO connection (all its namespaces), sans I/O: frames in, events out.

What a peer gets wrong, and what the runtime should do about it (``RemoteProtocolError.fatal``):

* a malformed frame (see :mod:`.packets`), a duplicate CONNECT, a CONNECT_ERROR sent by a
  client, or a packet that makes no sense in its namespace's state: **fatal** (close the
  connection). The JS server does the same (``Client.ondecoded`` closes on "invalid state").
* on the server, an EVENT, ACK or DISCONNECT for a namespace that *we* just disconnected:
  **not fatal** (drop the packet). The client sent it before our DISCONNECT reached it;
  the JS server closes the whole connection there, which punishes a well-behaved client
  for a race and takes its other namespaces down with it.
* on the client, any packet for a namespace it is not connected to (or connecting to):
  **not fatal** (drop), as the JS client ignores packets for namespaces it has no socket for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import LocalProtocolError, RemoteProtocolError
from .events import (
    Ack,
    Connect,
    ConnectError,
    Disconnect,
    Event,
    PlainEvent,
    SocketIOEvent,
    make_ack,
    make_event,
)
from .packets import Decoder, Packet, PacketType, Serializer
from .states import TRANSITIONS, NamespaceState, Role

__all__ = ["ClientConnection", "ServerConnection"]

_ABSENT = NamespaceState.ABSENT
_CONNECTED = NamespaceState.CONNECTED
_KINDS: dict[int, type] = {
    PacketType.CONNECT: Connect,
    PacketType.DISCONNECT: Disconnect,
    PacketType.EVENT: Event,
    PacketType.ACK: Ack,
    PacketType.CONNECT_ERROR: ConnectError,
}
_EVENT_CLASSES = frozenset(_KINDS.values())
#: how many namespaces a server remembers having disconnected (for the race above)
_MAX_LEFT = 32


class _Connection:
    """What the server and client connections share; see the module docstring."""

    _role: Role
    _peer: Role

    __slots__ = ("_closed", "_decoder", "_fast", "_left", "_serializer", "_states")

    def __init__(self, serializer: Serializer) -> None:
        self._serializer = serializer
        self._decoder: Decoder = serializer.decoder()
        #: the decoder's shortcut for a plain EVENT on "/" (the JSON decoder has one)
        self._fast: Callable[[str], PlainEvent | None] | None = getattr(
            self._decoder, "plain_event", None)
        #: namespaces that are CONNECTING or CONNECTED (absent means ABSENT)
        self._states: dict[str, NamespaceState] = {}
        #: namespaces we left recently (insertion-ordered, bounded)
        self._left: dict[str, None] = {}
        self._closed = False

    # -- inspection -----------------------------------------------------------------------

    @property
    def connected_namespaces(self) -> list[str]:
        """Namespaces in the CONNECTED state, in the order the client asked to join them."""
        return [ns for ns, state in self._states.items() if state is _CONNECTED]

    def state(self, namespace: str) -> NamespaceState:
        """The state of ``namespace`` on this connection."""
        return self._states.get(namespace, _ABSENT)

    @property
    def pending_since(self) -> float | None:
        """When the binary packet being received started (``now`` given to receive_data)."""
        return self._decoder.pending_since

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- input ----------------------------------------------------------------------------

    def receive_plain_event(self, data: str | bytes) -> PlainEvent | None:
        """The hot path: ``(name, args, ack_id)`` when ``data`` is a valid EVENT on a
        connected "/" without binary attachments; None for anything else (then call
        :meth:`receive_data`, which decodes it the full way, errors included)."""
        fast = self._fast
        if fast is None or data.__class__ is not str or data[:1] != "2" or self._closed or (
                self._states.get("/") is not _CONNECTED):
            return None
        return fast(data)

    def receive_data(self, data: str | bytes, now: float = 0.0) -> SocketIOEvent | None:
        """Decode one Engine.IO message into an event (None while binary data is awaited
        or after :meth:`close`). Raises :class:`RemoteProtocolError`."""
        if self._closed:
            return None
        quick = self.receive_plain_event(data)  # an EVENT on "/" changes no state
        if quick is not None:
            return make_event("/", *quick)
        packet = self._decoder.feed(data, now)
        if packet is None:
            return None
        namespace = packet.namespace
        kind = _KINDS[packet.type]
        state = self._states.get(namespace, _ABSENT)
        new = TRANSITIONS.get((state, self._peer, kind))
        if new is None:
            raise self._refusal(state, kind, namespace)
        event: SocketIOEvent
        if kind is Event:
            payload = packet.data
            event = make_event(namespace, payload[0], payload[1:], packet.id)
        elif kind is Ack:
            assert packet.id is not None  # the decoder refuses ACKs without an id
            event = make_ack(namespace, packet.id, packet.data)
        elif kind is Connect:
            self._check_connect(packet.data)
            self._left.pop(namespace, None)
            event = Connect(namespace=namespace, data=packet.data)
        elif kind is Disconnect:
            event = Disconnect(namespace=namespace)
        else:
            event = ConnectError(namespace=namespace, data=packet.data)
        if new is not state:
            if new is _ABSENT:
                del self._states[namespace]
            else:
                self._states[namespace] = new
        return event

    def _check_connect(self, data: Any) -> None:
        """Role-specific check of a received CONNECT payload."""

    def _refusal(self, state: NamespaceState, kind: type, namespace: str) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"{self._peer.value} sent {kind.__name__} on namespace {namespace!r} "
            f"while it is {state.value}"
        )

    # -- output ---------------------------------------------------------------------------

    def send(self, event: SocketIOEvent) -> list[str | bytes]:
        """The Engine.IO messages that carry ``event``; updates the namespace state.

        Raises :class:`LocalProtocolError` when the state does not allow it. After
        :meth:`close` nothing is sent (returns ``[]``): the transport is gone, and a
        handler finishing late is a normal race, not a bug.
        """
        if self._closed:
            return []
        kind = type(event)
        if kind not in _EVENT_CLASSES:
            raise LocalProtocolError(f"cannot send {event!r}: not a Socket.IO event")
        namespace = event.namespace
        state = self._states.get(namespace, _ABSENT)
        new = TRANSITIONS.get((state, self._role, kind))
        if new is None:
            raise LocalProtocolError(
                f"cannot send {kind.__name__} on namespace {namespace!r} while it is {state.value}"
            )
        serializer = self._serializer
        frames: list[str | bytes]
        if kind is Event:
            assert isinstance(event, Event)
            if event.ack_id is not None and type(event.ack_id) is not int:
                raise LocalProtocolError(f"ack_id must be an int, got {event.ack_id!r}")
            frames = serializer.encode_event(namespace, event.name, event.args, event.ack_id)
        elif kind is Ack:
            assert isinstance(event, Ack)
            if type(event.ack_id) is not int:
                raise LocalProtocolError(f"ack_id must be an int, got {event.ack_id!r}")
            frames = serializer.encode_ack(namespace, event.ack_id, event.args)
        elif kind is Connect:
            assert isinstance(event, Connect)
            self._check_send_connect(event.data)
            frames = serializer.encode(
                Packet(type=PacketType.CONNECT, namespace=namespace, data=event.data)
            )
        elif kind is Disconnect:
            frames = serializer.encode(Packet(type=PacketType.DISCONNECT, namespace=namespace))
        else:
            assert isinstance(event, ConnectError)
            frames = serializer.encode(
                Packet(type=PacketType.CONNECT_ERROR, namespace=namespace, data=event.data)
            )
        if new is not state:
            if new is _ABSENT:
                del self._states[namespace]
                self._remember_left(namespace)
            else:
                self._states[namespace] = new
        return frames

    def _check_send_connect(self, data: Any) -> None:
        """Role-specific check of a CONNECT payload we send."""

    def _remember_left(self, namespace: str) -> None:
        """Note that we ended ``namespace`` (the server tolerates the peer's late packets)."""

    # -- end ------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """The connection is gone: forget every namespace and return those that were
        CONNECTED (their disconnect handlers are due). Idempotent."""
        connected = self.connected_namespaces
        self._states.clear()
        self._left.clear()
        self._decoder.reset()
        self._closed = True
        return connected


class ServerConnection(_Connection):
    """The server's side of one client connection."""

    _role = Role.SERVER
    _peer = Role.CLIENT
    __slots__ = ()

    def _check_send_connect(self, data: Any) -> None:
        # JS clients refuse a CONNECT without a sid ("trying to reach a v2.x server?")
        if type(data) is not dict or type(data.get("sid")) is not str:
            raise LocalProtocolError('the server must send Connect(data={"sid": sid, ...})')

    def _remember_left(self, namespace: str) -> None:
        left = self._left
        left.pop(namespace, None)
        left[namespace] = None
        if len(left) > _MAX_LEFT:
            del left[next(iter(left))]

    def _refusal(self, state: NamespaceState, kind: type, namespace: str) -> RemoteProtocolError:
        error = super()._refusal(state, kind, namespace)
        if state is _ABSENT and kind is not Connect and namespace in self._left:
            error.fatal = False  # sent before our DISCONNECT reached the client
        return error


class ClientConnection(_Connection):
    """The client's side of its connection to a server."""

    _role = Role.CLIENT
    _peer = Role.SERVER
    __slots__ = ()

    def _check_connect(self, data: Any) -> None:
        if type(data) is not dict or type(data.get("sid")) is not str:
            raise RemoteProtocolError("CONNECT without a sid (not a Socket.IO v5 server?)")

    def _refusal(self, state: NamespaceState, kind: type, namespace: str) -> RemoteProtocolError:
        error = super()._refusal(state, kind, namespace)
        if state is _ABSENT:
            error.fatal = False  # a namespace we left or never joined: ignore, like JS
        return error
