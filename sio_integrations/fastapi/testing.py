"""An in-process Socket.IO client for tests, over Starlette's ``TestClient``.

    with TestClient(app) as http:                      # runs the lifespan
        with SocketIOTestClient(http, auth={"token": "t"}) as sio:
            assert sio.call("chat", {"text": "hi"}) == [{"ok": True}]
            assert sio.wait_for("news") == [...]

It speaks Engine.IO v4 over the test client's websocket, answers heartbeats, and decodes
binary attachments with the package's own packet codec.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from starlette.testclient import TestClient

from ..errors import ConnectionRefusedError  # noqa: A004
from ..protocol.packets import Packet, PacketType, get_serializer


class SocketIOTestClient:
    """One Socket.IO connection to the application, in process (websocket transport).

    ``connect()`` (or ``with``) raises ``ConnectionRefusedError`` carrying the server's
    CONNECT_ERROR payload (``exc.error_args``) when the connection is refused.
    """

    def __init__(self, client: TestClient, *, path: str = "/socket.io",
                 namespace: str = "/", auth: Any = None,
                 headers: Mapping[str, str] | None = None,
                 query: Mapping[str, str] | None = None, timeout: float = 5.0) -> None:
        self.client = client
        self.path = "/" + path.strip("/") + "/"
        self.namespace = namespace
        self.auth = auth
        self.headers = dict(headers or {})
        self.query = dict(query or {})
        self.timeout = timeout
        self.sid: str | None = None
        self.connected = False
        self._serializer = get_serializer("default")
        self._decoder = self._serializer.decoder()
        self._events: queue.Queue[tuple[str, list[Any]]] = queue.Queue()
        self._acks: dict[int, queue.Queue[list[Any]]] = {}
        self._control: queue.Queue[Packet] = queue.Queue()
        self._next_ack = 0
        self._ws: Any = None
        self._session: Any = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- connecting -------------------------------------------------------------------------

    def connect(self) -> SocketIOTestClient:
        params = {"EIO": "4", "transport": "websocket", **self.query}
        url = self.path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        self._session = self.client.websocket_connect(url, headers=self.headers)
        self._ws = self._session.__enter__()
        opening = self._ws.receive_text()
        if not opening.startswith("0"):
            raise AssertionError(f"expected an Engine.IO OPEN packet, got {opening!r}")
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="sio-test-client-reader")
        self._reader.start()
        self._send_packet(Packet(type=PacketType.CONNECT, namespace=self.namespace,
                                 data=self.auth))
        reply = self._control.get(timeout=self.timeout)
        if reply.type == PacketType.CONNECT_ERROR:
            self._close_transport()
            data = reply.data if isinstance(reply.data, dict) else {}
            raise ConnectionRefusedError(data.get("message", "refused"), data.get("data"))
        self.sid = reply.data["sid"]
        self.connected = True
        return self

    def disconnect(self) -> None:
        """Leave the namespace and close the connection."""
        if self.connected:
            self.connected = False
            self._send_packet(Packet(type=PacketType.DISCONNECT, namespace=self.namespace))
        self._close_transport()

    def __enter__(self) -> SocketIOTestClient:
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    # -- sending ----------------------------------------------------------------------------

    def emit(self, event: str, *args: Any) -> None:
        """Send an event without asking for an acknowledgement."""
        self._send_packet(Packet(type=PacketType.EVENT, namespace=self.namespace,
                                 data=[event, *args]))

    def call(self, event: str, *args: Any, timeout: float | None = None) -> list[Any]:
        """Send an event and return the acknowledgement's arguments."""
        with self._lock:
            self._next_ack += 1
            ack_id = self._next_ack
            answer: queue.Queue[list[Any]] = queue.Queue()
            self._acks[ack_id] = answer
        self._send_packet(Packet(type=PacketType.EVENT, namespace=self.namespace,
                                 data=[event, *args], id=ack_id))
        try:
            return answer.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise TimeoutError(f"no acknowledgement for {event!r}") from None
        finally:
            self._acks.pop(ack_id, None)

    # -- receiving --------------------------------------------------------------------------

    def wait_for(self, event: str, timeout: float | None = None) -> list[Any]:
        """The arguments of the next ``event`` received (other events are kept)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        skipped: list[tuple[str, list[Any]]] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {event!r} event received")
                try:
                    name, args = self._events.get(timeout=left)
                except queue.Empty:
                    raise TimeoutError(f"no {event!r} event received") from None
                if name == event:
                    return args
                skipped.append((name, args))
        finally:
            for item in skipped:  # keep the others, in order, for the next reader
                self._events.put(item)

    def get_received(self) -> list[tuple[str, list[Any]]]:
        """Every event received so far and not yet read, as ``(name, args)``."""
        found = []
        while True:
            try:
                found.append(self._events.get_nowait())
            except queue.Empty:
                return found

    # -- internals --------------------------------------------------------------------------

    def _send_packet(self, packet: Packet) -> None:
        for frame in self._serializer.encode(packet):
            if isinstance(frame, str):
                self._ws.send_text("4" + frame)
            else:
                self._ws.send_bytes(bytes(frame))

    def _read(self) -> None:
        while True:
            try:
                message = self._ws.receive()
            except Exception:  # the session was closed under us
                return
            if message["type"] != "websocket.send":
                return
            text = message.get("text")
            if text is not None:
                if text == "2":
                    try:
                        self._ws.send_text("3")
                    except Exception:
                        return
                    continue
                if not text.startswith("4"):
                    continue  # noop / close
                data: str | bytes = text[1:]
            else:
                data = message["bytes"]
            packet = self._decoder.feed(data)
            if packet is not None:
                self._dispatch(packet)

    def _dispatch(self, packet: Packet) -> None:
        if packet.namespace != self.namespace:
            return
        if packet.type in (PacketType.CONNECT, PacketType.CONNECT_ERROR):
            self._control.put(packet)
        elif packet.type == PacketType.DISCONNECT:
            self.connected = False
        elif packet.type in (PacketType.EVENT, PacketType.BINARY_EVENT):
            name, *args = packet.data
            self._events.put((name, args))
            if packet.id is not None:  # answer server calls with an empty ack
                self._send_packet(Packet(type=PacketType.ACK, namespace=self.namespace,
                                         data=[], id=packet.id))
        elif packet.type in (PacketType.ACK, PacketType.BINARY_ACK):
            answer = self._acks.get(packet.id or 0)
            if answer is not None:
                answer.put(list(packet.data))

    def _close_transport(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.__exit__(None, None, None)
            except Exception:
                pass
        if self._reader is not None:
            self._reader.join(self.timeout)

