"""``socketio.test_client(app)``: a Socket.IO client that runs in the test process.

It speaks Engine.IO long-polling through the application's WSGI callable, so every
request takes the real path (our WSGI app, engine, server, dispatch, Flask contexts); no
method is patched. The handshake goes through Flask's test client, so its cookies (a
login made over HTTP) reach the socket.

Calls are synchronous, as in Flask-SocketIO's test client: ``emit`` returns after the
server handled the event (with ``callback=True`` it returns the acknowledgement), and
``get_received`` returns everything the server sent before it was called. Both wait for
a round trip through the client's event queue on the server (events of one client are
handled in order), using an internal event registered on the server for this purpose.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import Client

from ..protocol.engine.packets import PacketType as EnginePacketType
from ..protocol.engine.packets import decode_payload, encode_payload, message_frame
from ..protocol.packets import Packet, PacketType

if TYPE_CHECKING:
    from .extension import SocketIO

#: the internal event whose acknowledgement tells the client the server caught up
SYNC_EVENT = "sio_integrations.testing:sync"


def _sync(*args: Any) -> None:
    return None


class SocketIOTestClient:
    """An in-process Socket.IO client for ``app`` (Flask-SocketIO's test client API).

    ``flask_test_client`` shares its cookies with the socket's handshake. A refused
    connection leaves ``is_connected()`` False and its payload in ``connect_error``.
    """

    def __init__(self, app: Flask, socketio: SocketIO, namespace: str | None = None,
                 query_string: str | None = None, headers: dict[str, str] | None = None,
                 auth: Any = None, flask_test_client: Any = None,
                 timeout: float = 10.0) -> None:
        self.app = app
        self.socketio = socketio
        self.state = socketio.state(app)
        self.server = self.state.server
        self.path = "/" + self.state.settings.path + "/"
        self.flask_test_client = flask_test_client or app.test_client()
        self.timeout = timeout
        self.eio_sid: str | None = None
        #: namespace -> sid of the namespaces this client is connected to
        self.sids: dict[str, str] = {}
        #: namespace -> CONNECT_ERROR payload of the last refused connection
        self.connect_error: dict[str, Any] = {}
        self._queue: list[dict[str, Any]] = []
        self._acks: dict[int, list[Any]] = {}
        self._answers: dict[str, Packet] = {}
        self._ack_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._serializer = self.server.serializer
        self._decoder = self._serializer.decoder()
        self._poller = Client(app, use_cookies=False)
        self._sender = Client(app, use_cookies=False)
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._closed = False
        self.connect(namespace, query_string=query_string, headers=headers, auth=auth)

    # -- connecting -----------------------------------------------------------------------

    def is_connected(self, namespace: str | None = None) -> bool:
        """Whether the client is connected to ``namespace`` (default ``/``)."""
        return (namespace or "/") in self.sids

    def connect(self, namespace: str | None = None, query_string: str | None = None,
                headers: dict[str, str] | None = None, auth: Any = None) -> None:
        """Connect to ``namespace`` (the Engine.IO session opens on the first call)."""
        namespace = namespace or "/"
        if self.eio_sid is None:
            self._open(query_string, headers)
        self._answers.pop(namespace, None)
        self.connect_error.pop(namespace, None)
        self._send(Packet(type=PacketType.CONNECT, namespace=namespace, data=auth))
        answer = self._wait(lambda: self._answers.get(namespace), f"CONNECT to {namespace}")
        if answer.type == PacketType.CONNECT:
            # registered only once accepted: a handler makes a namespace known
            self._ensure_sync_handler(namespace)
            self.sids[namespace] = answer.data["sid"]
        else:
            self.connect_error[namespace] = answer.data
            if not self.sids:
                self.close()  # nothing left to poll for; connect() opens a new session

    def disconnect(self, namespace: str | None = None) -> None:
        """Leave ``namespace``; returns after the server's disconnect handler ran."""
        namespace = namespace or "/"
        sid = self.sids.pop(namespace, None)
        if sid is None:
            raise RuntimeError(f"not connected to {namespace}")
        self._send(Packet(type=PacketType.DISCONNECT, namespace=namespace))
        self._wait(lambda: not self._server_knows(sid, namespace),
                   f"the server to handle the disconnection from {namespace}",
                   needs_transport=False)
        if not self.sids:
            self.close()

    def close(self) -> None:
        """Close the Engine.IO session (every namespace) and stop the reader."""
        if self._closed or self.eio_sid is None:
            return
        self._closed = True
        sids = list(self.sids.items())
        self.sids.clear()
        try:
            self._post(encode_payload(["1"]))
        except Exception:
            pass
        for namespace, sid in sids:
            self._wait(lambda n=namespace, s=sid: not self._server_knows(s, n),
                       f"the server to close {namespace}", needs_transport=False)
        if self._reader is not None:
            self._reader.join(self.timeout)
        self.eio_sid = None

    def __enter__(self) -> SocketIOTestClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- sending --------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: bool = False,
             namespace: str | None = None) -> Any:
        """Send ``event``; with ``callback=True`` return the acknowledgement.

        The acknowledgement is its one argument, or the list of them when there are
        several (None when the server disconnected the client instead of answering).
        Returns once the server handled the event.
        """
        namespace = namespace or "/"
        if not self.is_connected(namespace):
            raise RuntimeError(f"not connected to {namespace}")
        if not callback:
            self._send(Packet(type=PacketType.EVENT, namespace=namespace,
                              data=[event, *args]))
            self.sync(namespace)
            return None
        result = self._call(namespace, event, args)
        if not result and not self.is_connected(namespace):
            return None
        return result[0] if len(result) == 1 else result

    def send(self, data: Any, json: bool = False, callback: bool = False,
             namespace: str | None = None) -> Any:
        """Send a ``message`` event (``json`` is accepted for compatibility)."""
        return self.emit("message", data, callback=callback, namespace=namespace)

    def sync(self, namespace: str | None = None) -> None:
        """Wait until the server handled everything this client sent before."""
        self._call(namespace or "/", SYNC_EVENT, ())

    # -- receiving ------------------------------------------------------------------------

    def get_received(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Events received in ``namespace`` since the last call, oldest first.

        Each is ``{"name": event, "args": [...], "namespace": ns}``; for ``message``
        events ``args`` is the message itself (as in Flask-SocketIO).
        """
        namespace = namespace or "/"
        probe = namespace if self.is_connected(namespace) else next(iter(self.sids), None)
        if probe is not None:
            self.sync(probe)
        with self._changed:
            found = [item for item in self._queue if item["namespace"] == namespace]
            self._queue = [item for item in self._queue if item["namespace"] != namespace]
        return found

    # -- internals ------------------------------------------------------------------------

    def _ensure_sync_handler(self, namespace: str) -> None:
        if SYNC_EVENT not in self.server.handlers.get(namespace, {}):
            self.server.on(SYNC_EVENT, _sync, namespace=namespace)

    def _server_knows(self, sid: str, namespace: str) -> bool:
        return (sid in self.state.records
                or self.server.manager.is_connected(sid, namespace))

    def _call(self, namespace: str, event: str, args: tuple[Any, ...]) -> list[Any]:
        ack_id = next(self._ack_ids)
        self._send(Packet(type=PacketType.EVENT, namespace=namespace, data=[event, *args],
                          id=ack_id))

        def answered() -> list[Any] | bool:
            ack = self._acks.pop(ack_id, None)
            if ack is not None:
                return ack
            # the server left the namespace first (its DISCONNECT came before any ack)
            return namespace not in self.sids

        answer = self._wait(answered, f"the acknowledgement of {event!r}")
        return answer if isinstance(answer, list) else []

    def _wait(self, ready: Any, what: str, *, needs_transport: bool = True) -> Any:
        """Wait until ``ready()`` gives a value; fail after the timeout, or at once when
        it needs the transport and the session is gone."""
        deadline = time.monotonic() + self.timeout
        with self._changed:
            while True:
                value = ready()
                if value is not None and value is not False:
                    return value
                if needs_transport and self._closed and self._reader_done():
                    raise ConnectionError(f"test client: the session closed while waiting "
                                          f"for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"test client: timed out waiting for {what}")
                self._changed.wait(min(left, 0.5))

    def _reader_done(self) -> bool:
        return self._reader is None or not self._reader.is_alive()

    def _query(self, **extra: str) -> str:
        return urlencode({"EIO": "4", "transport": "polling", **extra})

    def _open(self, query_string: str | None, headers: dict[str, str] | None) -> None:
        query = self._query()
        if query_string:
            query += "&" + query_string.lstrip("?")
        response = self.flask_test_client.get(self.path, query_string=query,
                                              headers=headers or {})
        body = response.get_data(as_text=True)
        if response.status_code != 200 or not body.startswith("0"):
            raise ConnectionError(f"Engine.IO handshake failed: {response.status} {body!r}")
        self.eio_sid = json.loads(body[1:])["sid"]
        self._closed = False
        self._decoder = self._serializer.decoder()
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="sio-flask-test-client")
        self._reader.start()

    def _send(self, packet: Packet) -> None:
        frames = [message_frame(f) for f in self._serializer.encode(packet)]
        self._post(encode_payload(frames))

    def _post(self, body: str) -> None:
        with self._send_lock:  # one POST at a time per session, as a real client
            response = self._sender.post(
                self.path, query_string=self._query(sid=self.eio_sid or ""), data=body,
                headers={"Content-Type": "text/plain;charset=UTF-8"})
        if response.status_code != 200:
            raise ConnectionError(f"Engine.IO POST refused: {response.status}")

    def _read(self) -> None:
        try:
            while not self._closed:
                response = self._poller.get(self.path,
                                            query_string=self._query(sid=self.eio_sid or ""))
                if response.status_code != 200:
                    return
                for packet in decode_payload(response.get_data(as_text=True)):
                    if packet.type == EnginePacketType.PING:
                        self._post(encode_payload(["3"]))
                    elif packet.type == EnginePacketType.CLOSE:
                        return
                    elif packet.type == EnginePacketType.MESSAGE:
                        decoded = self._decoder.feed(packet.data)
                        if decoded is not None:
                            self._dispatch(decoded)
        finally:
            with self._changed:
                self._closed = True
                self.sids.clear()
                self._changed.notify_all()

    def _dispatch(self, packet: Packet) -> None:
        namespace = packet.namespace
        if packet.type == PacketType.EVENT and packet.id is not None:
            # the server called us (Server.call): acknowledge with no arguments
            self._send(Packet(type=PacketType.ACK, namespace=namespace, data=[],
                              id=packet.id))
        with self._changed:
            if packet.type in (PacketType.CONNECT, PacketType.CONNECT_ERROR):
                self._answers[namespace] = packet
            elif packet.type == PacketType.DISCONNECT:
                self.sids.pop(namespace, None)
            elif packet.type == PacketType.EVENT:
                name, *args = packet.data
                if name in ("message", "json"):
                    self._queue.append({"name": "message", "args": args[0] if args else None,
                                        "namespace": namespace})
                else:
                    self._queue.append({"name": name, "args": args, "namespace": namespace})
            elif packet.type == PacketType.ACK and packet.id is not None:
                self._acks[packet.id] = list(packet.data)
            self._changed.notify_all()
