"""The direct websocket path for threads: on werkzeug or gunicorn, we own the socket.

simple-websocket (python-engineio's threading websocket) parses with wsproto in a reader
thread of its own and hands every message to the request thread through a list and an
event; each send goes through wsproto as well. Here the request thread itself answers the
handshake (HTTP 101, no extension negotiated; :mod:`.wsgi_handshake`), reads the socket
and hands each message to the engine at once (:meth:`SyncDirectWebSocket.run_reader`),
and any thread writes frames straight to the socket under a per-connection lock.

Slow consumers: a write is a non-blocking ``send``; what the kernel does not take waits in
a per-connection backlog that one shared flusher thread writes out when the socket is
writable, so writers do not wait for the peer. Only a write that takes the backlog past
``max_send_buffer_size`` waits, up to :data:`SEND_TIMEOUT`, for the peer to read it back
under the limit: a client that reads keeps up with a burst (the writer is slowed to its
pace), one that stopped reading makes the write return False and the engine disconnects
it (the policy of :mod:`.asgi_direct`, without dropping readers during a burst). The
flusher also shuts down connections whose close handshake takes longer than
:data:`CLOSE_TIMEOUT`. The peer's close frame is answered once the jobs the reader handed
to worker threads (the handlers of the events read before it) are done, or after
:data:`CLOSE_TIMEOUT`, so their replies are not lost. While the engine still reads with
:meth:`~SyncDirectWebSocket.receive` (the upgrade probe), a close frame waits for the
messages read before it: ``receive()`` returns them first, and answers the close when none
is left, or :meth:`~SyncDirectWebSocket.run_reader` hands them over first.

Taken only for plain sockets from werkzeug (``werkzeug.socket``) and gunicorn's threaded
workers (``gunicorn.socket``) on a platform with ``MSG_DONTWAIT``; TLS sockets and other
servers keep simple-websocket. When the session ends the request thread shuts the socket
down and raises what simple-websocket's driver raises, so the server writes no response.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..protocol.engine.wsframes import (
    Close,
    FrameReader,
    Ping,
    WebSocketError,
    encode_binary,
    encode_close,
    encode_pong,
    encode_text,
)
from .workers import forget_jobs_started_here, wait_for_jobs_started_here
from .wsgi_flusher import flusher

__all__ = ["CLOSE_TIMEOUT", "SEND_TIMEOUT", "SyncDirectWebSocket"]

logger = logging.getLogger("sio_integrations.engine")

#: seconds a closing connection waits for the peer's close frame before the socket is shut
CLOSE_TIMEOUT = 2.0
#: seconds a writer waits for a peer over ``max_send_buffer_size`` before it is dropped
SEND_TIMEOUT = 5.0
_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)
_RECV_SIZE = 65536

FrameHandler = Callable[[str | bytes], str | None]

# the last frame built: a broadcast writes the same string to every member, framed once
# (one tuple, so a thread never sees the data of one frame with the wire of another)
_last: tuple[Any, bytes] = (None, b"")


class SyncDirectWebSocket:
    """A websocket connection read by the request thread and written by any thread."""

    def __init__(self, sock: socket.socket, max_size: int, *, peer: Any = None) -> None:
        self._sock = sock
        self._reader = FrameReader(max_size)
        self._lock = threading.Lock()
        self._queue: deque[str | bytes] = deque()  # messages read by receive() mode
        self._backlog: deque[bytes | memoryview] = deque()  # bytes the kernel did not take
        self._backlog_size = 0
        # writers over the limit and finish() wait here for the flusher
        self._room = threading.Condition(self._lock)
        self._limit = 1 << 62
        self._close_sent = False  # no frame may follow our close frame
        self._peer_closed = False  # the peer's close frame arrived
        self._closing: Close | None = None  # the peer's close frame, not yet answered
        self._ended = False  # reading is over (close frame, end of stream or error)
        self._failed = False  # the peer broke the protocol: its bytes are not parsed
        self._broken = False  # a write failed: the peer is gone
        self._released = False  # the host owns the socket again: never touch it
        self._reason: str | None = None
        #: the reader is inside the engine's handler (a pong may wait unread meanwhile)
        self.blocked = False
        self.peer = peer

    # -- what the engine uses -------------------------------------------------------------
    def direct_writer(self, limit: int, on_stalled: Callable[[], Any] | None = None,
                      name: str = "") -> Callable[[str | bytes], bool]:
        """The synchronous writer: ``write(frame)`` is False once the peer stayed more
        than ``limit`` bytes behind for :data:`SEND_TIMEOUT` (the caller disconnects it).
        ``on_stalled`` is not needed here (the writer itself waits, see the module
        docstring); ``name`` (the Engine.IO session) is named in warnings."""
        self._limit = limit
        if name:
            self.peer = f"{name} ({self.peer})"
        return self.write

    def write(self, data: str | bytes) -> bool:
        global _last
        last = _last
        if last[0] is data:
            wire = last[1]
        else:
            wire = encode_text(data) if isinstance(data, str) else encode_binary(data)
            _last = (data, wire)
        return self._write(wire)

    def send(self, data: str | bytes) -> None:
        if not self.write(data):
            raise ConnectionError("peer over max_send_buffer_size")

    def receive(self) -> str | bytes | None:
        """The next message (before :meth:`run_reader`); None once the connection ended."""
        queue = self._queue
        while not queue:
            if self._ended:
                self._answer_close()  # the peer's close, after its last message
                return None
            self._read_once()
        return queue.popleft()

    def run_reader(self, on_frame: FrameHandler) -> str:
        """Hand every message to ``on_frame`` in this thread until the connection ends.

        ``on_frame`` returns a close reason to end the session, else None. Returns the
        reason the connection ended with.
        """
        forget_jobs_started_here()  # a reused thread: the jobs of its last connection
        queue = self._queue
        while queue and self._reason is None:  # read before the engine took over
            self._dispatch(on_frame, queue.popleft())
        queue.clear()
        if self._closing is not None:  # read with them: answered once they are handled
            self._close_after_jobs()
        recv, reader = self._sock.recv, self._reader
        while self._reason is None and not self._ended:
            try:
                data = recv(_RECV_SIZE)
            except OSError:
                data = b""
            if not data:
                self._eof()
                break
            try:
                text = reader.feed_text(data)
                if text is not None:  # one whole text frame: the usual message
                    self.blocked = True
                    try:
                        reason = on_frame(text)
                    except Exception:
                        logger.exception("websocket message handler failed for %s", self.peer)
                        reason = "transport error"
                    self.blocked = False
                    if reason is not None:
                        self._set_reason(reason)
                    continue
                items = reader.feed(data)
            except WebSocketError as exc:
                self._protocol_error(exc)
                break
            for item in items:  # after a close reason only control frames count
                self._item(item, on_frame)
        return self._reason or "transport close"

    def close(self) -> None:
        self.close_now()

    def close_now(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (after what is still queued); the peer has
        :data:`CLOSE_TIMEOUT` seconds to answer before the socket is shut down."""
        self._set_reason("server close")
        with self._lock:
            if self._close_sent or self._released:
                return
            self._locked_write(encode_close(code, reason))
            self._close_sent = True
            self._room.notify_all()  # writers waiting for room: nothing more is sent
        flusher().expire(self, time.monotonic() + CLOSE_TIMEOUT)

    def finish(self) -> None:
        """End the connection from the request thread, before the host gets it back:
        complete the close handshake (bounded), flush, shut the socket down."""
        self._answer_close()  # a close frame read before the engine took the messages
        if not self._close_sent:
            self.close_now(1000)
        if not self._ended or self._failed:  # bounded: the deadline shuts the socket
            flusher().expire(self, time.monotonic() + CLOSE_TIMEOUT)
        while not self._ended:  # until the peer's close frame
            self._read_once()
        self._answer_close()  # ours went first: this only marks the handshake done
        if self._failed:
            self._discard_input()
        with self._lock:
            deadline = time.monotonic() + CLOSE_TIMEOUT
            while self._backlog and not self._broken:  # the flusher writes it out
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._room.wait(remaining)
            self._released = True
            self._room.notify_all()
            self._backlog.clear()
            self._backlog_size = 0
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
                # a peer may still have sent bytes after its close frame: the host must
                # find nothing left to read, or it parses them as the next HTTP request
                for _ in range(64):
                    if not self._sock.recv(_RECV_SIZE, _DONTWAIT):
                        break
            except OSError:
                pass

    # -- reading --------------------------------------------------------------------------
    def _read_once(self) -> None:
        """One ``recv``: messages join the queue (receive() mode), control frames answered."""
        try:
            data = self._sock.recv(_RECV_SIZE)
        except OSError:
            data = b""
        if not data:
            self._eof()
            return
        try:
            items = self._reader.feed(data)
        except WebSocketError as exc:
            self._protocol_error(exc)
            return
        for item in items:
            self._item(item, None)

    def _item(self, item: str | bytes | Ping | Close, on_frame: FrameHandler | None) -> None:
        kind = item.__class__
        if kind is str or kind is bytes:
            if self._reason is not None or self._peer_closed:
                return  # the session is over: later messages are not delivered
            if on_frame is None:
                self._queue.append(item)  # type: ignore[arg-type]
            else:
                self._dispatch(on_frame, item)  # type: ignore[arg-type]
        elif kind is Ping:
            with self._lock:
                if not self._close_sent and not self._released:
                    self._locked_write(encode_pong(item.payload))  # type: ignore[union-attr]
        else:  # the close frame: the frame reader returns nothing after it
            self._closing = item  # type: ignore[assignment]
            self._ended = True  # nothing after the close frame is read
            if on_frame is not None:
                self._close_after_jobs()
            # receive() mode: messages before it may still be queued; receive() answers
            # the close once they are read, or run_reader() once it handed them over
            # (the engine switches from one to the other between two messages: upgrade)

    def _dispatch(self, on_frame: FrameHandler, message: str | bytes) -> None:
        self.blocked = True
        try:
            reason = on_frame(message)
        except Exception:
            logger.exception("websocket message handler failed for %s", self.peer)
            reason = "transport error"
        self.blocked = False
        if reason is not None:
            self._set_reason(reason)

    def _close_after_jobs(self) -> None:
        """Answer the peer's close once the jobs this thread handed out are done: the
        events read before the close frame may be handled on worker threads (the Socket.IO
        server's drain), and their replies go out before our close frame, which ends the
        session (bounded: a handler may wait for the peer)."""
        if not self._close_sent:
            self.blocked = True  # not reading meanwhile: no ping timeout for that
            wait_for_jobs_started_here(CLOSE_TIMEOUT)
            self.blocked = False
        self._answer_close()

    def _answer_close(self) -> None:
        frame = self._closing
        if frame is not None:
            self._closing = None
            self._peer_close(frame)

    def _peer_close(self, frame: Close) -> None:
        self._peer_closed = True
        self._ended = True
        self._set_reason("transport close")
        with self._lock:
            if not self._close_sent and not self._released:
                self._locked_write(encode_close(frame.code if frame.code != 1005 else 1000))
                self._close_sent = True
                self._room.notify_all()

    def _protocol_error(self, exc: WebSocketError) -> None:
        logger.warning("websocket protocol error from %s: %s (closing)", self.peer, exc.reason)
        self._set_reason("transport error")
        self.close_now(exc.code)
        self._ended = True  # the stream cannot be parsed any further
        self._failed = True
        with self._lock:
            if not self._backlog and not self._released:
                try:
                    self._sock.shutdown(socket.SHUT_WR)  # our close frame, then FIN
                except OSError:
                    pass

    def _eof(self) -> None:
        self._ended = True
        self._set_reason("transport close")

    def _discard_input(self) -> None:
        """After a protocol error: drop what the peer still sends until it closes (or the
        close deadline shuts the socket), so closing does not reset the connection before
        the peer read our close frame."""
        while True:
            try:
                if not self._sock.recv(_RECV_SIZE):
                    return
            except OSError:
                return

    def _set_reason(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason

    # -- writing --------------------------------------------------------------------------
    def _write(self, wire: bytes) -> bool:
        with self._lock:
            if self._close_sent or self._released or self._broken:
                return True  # closing: frames after our close frame are dropped
            if self._locked_write(wire):
                return True
            return self._wait_for_room()

    def write_many(self, frames: list[str | bytes]) -> bool:
        """Write several frames with nothing from another thread between them (a binary
        Socket.IO packet and its attachments); False as for :meth:`write`."""
        wires = [encode_text(f) if isinstance(f, str) else encode_binary(f) for f in frames]
        with self._lock:
            if self._close_sent or self._released or self._broken:
                return True
            within = True
            for wire in wires:
                within = self._locked_write(wire)
            return within or self._wait_for_room()

    def _wait_for_room(self) -> bool:
        """The backlog passed the limit (lock held): wait up to :data:`SEND_TIMEOUT` for
        the peer to read it back under the limit. False when it did not (the caller then
        disconnects it): a peer that reads keeps up, one that stops reading is dropped."""
        deadline = time.monotonic() + SEND_TIMEOUT
        while self._backlog_size > self._limit:
            if self._released or self._broken or self._close_sent:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._room.wait(remaining)
        return True

    def _locked_write(self, wire: bytes) -> bool:
        """Write now, or queue behind the backlog; the caller holds the lock."""
        if self._backlog:
            self._backlog.append(wire)
            self._backlog_size += len(wire)
            return self._backlog_size <= self._limit
        try:
            sent = self._sock.send(wire, _DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:  # the peer is gone: the reader sees it and ends the session
            self._broken = True
            self._room.notify_all()
            return True
        if sent < len(wire):
            self._backlog.append(memoryview(wire)[sent:])
            self._backlog_size = len(wire) - sent
            flusher().watch(self)
        return self._backlog_size <= self._limit

    def flush_backlog(self) -> None:
        """Write what the kernel takes from the backlog (the flusher thread)."""
        with self._lock:
            backlog = self._backlog
            if self._released:
                return
            try:
                while backlog:
                    chunk = backlog[0]
                    sent = self._sock.send(chunk, _DONTWAIT)
                    self._backlog_size -= sent
                    if sent < len(chunk):
                        backlog[0] = memoryview(chunk)[sent:]
                        break
                    backlog.popleft()
            except BlockingIOError:
                pass
            except OSError:
                backlog.clear()
                self._backlog_size = 0
                self._broken = True
            if self._backlog_size <= self._limit:
                self._room.notify_all()  # writers over the limit, finish()
            if not backlog:
                flusher().forget(self)  # under our lock: see Backlogged.flush_backlog

    def expire(self) -> None:
        """The close deadline passed: wake the reader by shutting the socket down."""
        with self._lock:
            if self._released:
                return
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def backlog_fileno(self) -> int:
        with self._lock:
            return -1 if self._released else self._sock.fileno()
