"""A websocket connection read and written by us, after a host's handshake.

Hosts (uvicorn: ``asgi_direct.py``, aiohttp: ``aiohttp_direct.py``) complete the websocket
handshake, then point the connection's transport at a :class:`DirectWebSocket`: frames are
parsed in ``data_received`` (``protocol/engine/wsframes.py``) and handed to the engine at
once (no task per message), and sends are written to the transport immediately (no waiting
on a slow peer: a peer whose unsent bytes pass the limit is disconnected instead). What the
host still needs to hear about the connection goes through its :class:`Host` hooks.
With permessage-deflate negotiated, :class:`~.direct_ws_deflate.DeflateWebSocket` (a
subclass, in its own module) inflates what the peer compressed and compresses large
messages.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, Protocol

from ..protocol.engine.wsframes import (
    Close,
    FrameReader,
    Ping,
    WebSocketError,
    binary_header,
    encode_binary,
    encode_close,
    encode_pong,
    encode_text,
)
from .eager import continue_started
from .logs import limit_warnings

__all__ = ["CLOSE_TIMEOUT", "DirectWebSocket", "FrameHandler", "Host"]

logger = limit_warnings(logging.getLogger("sio_integrations.engine"))

#: returns a coroutine (its result: a close reason or None), or None when it is done
FrameHandler = Callable[[str | bytes], Coroutine[Any, Any, str | None] | None]

#: how long a connection we closed waits for the peer's close frame before dropping TCP
CLOSE_TIMEOUT = 2.0
#: messages buffered before the engine reads them (the upgrade probe) before reading pauses
_QUEUE_PAUSE = 16

# the last frame built: a broadcast writes the same string to every member, framed once
_last: tuple[Any, bytes] = (None, b"")
#: binary messages from this size on are written as header + payload (no frame copy)
VECTORED_MIN = 16384
#: a peer over the send limit is checked this often, and must have read this fraction of
#: the limit since the previous check (else it is not reading: disconnected)
WATCH_INTERVAL = 1.0
MIN_PROGRESS = 16
#: over this many times the limit a peer is disconnected at once, reading or not
HARD_CAP = 16


class Host(Protocol):
    """What a :class:`DirectWebSocket` tells the host connection it replaced on the
    transport (uvicorn's protocol object itself, aiohttp's through a small adapter)."""

    #: set once we sent a close frame (the host's own shutdown then sends none)
    close_sent: bool

    def connection_lost(self, exc: Exception | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...


class _Done:
    """An awaitable that is already complete (what ``send`` returns: nothing to wait for)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # a generator that finishes at once


_DONE = _Done()


class DirectWebSocket(asyncio.Protocol):
    """A websocket connection read and written by us (see the module docstring).

    ``host`` gets the transport's ``connection_lost`` and flow control; ``peer`` is the
    client's address (for logs); ``reader`` parses what the client sends.
    """

    __slots__ = (
        "_host", "_transport", "_reader", "_queue", "_waiter", "_on_frame", "_done",
        "_reason", "blocked", "_paused", "_close_sent", "_lost", "_limit", "_on_stalled",
        "_written", "_watch", "_closing", "_context", "_closed", "peer", "name", "_vectored",
    )

    def __init__(self, host: Host, transport: Any, max_size: int, *, peer: Any = None,
                 reader: FrameReader | None = None) -> None:  # noqa: D107
        self._host = host
        self._transport = transport
        #: uvloop's writelines() is one writev; asyncio's (3.11) is a write per piece
        self._vectored = type(transport).__module__.startswith("uvloop")
        self._reader = FrameReader(max_size) if reader is None else reader
        self._queue: list[str | bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self._on_frame: FrameHandler | None = None
        self._done: asyncio.Future[str] | None = None
        self._reason: str | None = None  # set once the connection is over for the engine
        #: a message handler suspended and finishes in a task (reading is paused meanwhile)
        self.blocked = False
        self._paused = False
        self._close_sent = False
        self._lost = False
        self._limit = 1 << 62
        self._on_stalled: Callable[[], Any] | None = None
        self._written = 0  # bytes handed to the transport (progress = written - buffered)
        self._watch: asyncio.TimerHandle | None = None
        self._closing: Close | None = None  # the peer's close frame, not yet answered
        self._context = contextvars.copy_context()
        self._closed: asyncio.Future[None] | None = None  # created when someone waits
        self.peer = peer
        self.name = f"peer {peer}"  # the Engine.IO sid once the engine reads

    # -- what the engine uses -------------------------------------------------------------
    def direct_writer(self, limit: int, on_stalled: Callable[[], Any], name: str = ""
                      ) -> Callable[[str | bytes], bool]:
        """The synchronous writer. The slow-consumer policy: once more than ``limit`` bytes
        wait for the peer, it is checked every WATCH_INTERVAL and ``on_stalled()`` is
        called when it read less than ``limit / MIN_PROGRESS`` since the last check;
        ``write(frame)`` returns False (disconnect now) past HARD_CAP times the limit."""
        self._limit = limit
        self._on_stalled = on_stalled
        if name:
            self.name = name
        return self.write

    def write(self, data: str | bytes) -> bool:
        global _last
        last = _last
        if data is last[0]:
            wire = last[1]
        else:
            if data.__class__ is bytes and len(data) >= VECTORED_MIN and self._vectored:
                return self._put_parts((binary_header(len(data)), data))
            wire = encode_text(data) if isinstance(data, str) else encode_binary(data)
            _last = (data, wire)
        # _put's lines, inlined: this is the hot path of every plain connection
        if self._close_sent or self._lost:
            return True
        transport = self._transport
        transport.write(wire)
        self._written += len(wire)
        behind = transport.get_write_buffer_size()
        if behind <= self._limit:
            return True
        return self._behind(behind)

    def _put(self, wire: bytes) -> bool:
        """Write one frame; False: the peer is too far behind (see direct_writer)."""
        if self._close_sent or self._lost:
            return True
        transport = self._transport
        transport.write(wire)
        self._written += len(wire)
        behind = transport.get_write_buffer_size()
        if behind <= self._limit:
            return True
        return self._behind(behind)

    def write_many(self, frames: list[str | bytes]) -> bool:
        """Several messages at once (a packet and its attachments), in one transport write
        (one ``writev`` on uvloop); False as for :meth:`write`."""
        parts: list[bytes] = []
        for data in frames:
            if data.__class__ is bytes and len(data) >= VECTORED_MIN and self._vectored:
                parts += (binary_header(len(data)), data)
            else:
                parts.append(encode_text(data) if isinstance(data, str) else encode_binary(data))
        return self._put_parts(parts)

    def _put_parts(self, parts: list[bytes] | tuple[bytes, ...]) -> bool:
        """:meth:`_put` of several pieces: one ``writev`` on uvloop (its ``writelines``), so
        a large payload is not copied into a frame first; one joined write elsewhere."""
        if self._close_sent or self._lost:
            return True
        transport = self._transport
        if self._vectored:
            transport.writelines(parts)
        else:
            transport.write(b"".join(parts))
        self._written += sum(map(len, parts))
        behind = transport.get_write_buffer_size()
        if behind <= self._limit:
            return True
        return self._behind(behind)

    def _behind(self, behind: int) -> bool:
        """The slow-consumer policy, once ``behind`` bytes are unsent past the limit."""
        if behind > self._limit * HARD_CAP:
            return False
        if self._watch is None:
            self._watch = asyncio.get_running_loop().call_later(
                WATCH_INTERVAL, self._check_progress, self._written - behind)
        return True

    def _check_progress(self, read_before: int) -> None:
        self._watch = None
        if self._close_sent or self._lost:
            return
        behind = self._transport.get_write_buffer_size()
        if behind <= self._limit:
            return
        read = self._written - behind
        if read - read_before < self._limit // MIN_PROGRESS:
            if self._on_stalled is not None:
                self._on_stalled()
            return
        self._watch = asyncio.get_running_loop().call_later(
            WATCH_INTERVAL, self._check_progress, read)

    def abort(self) -> None:
        """Drop the connection and whatever is still unsent (a peer that does not read)."""
        self._finish("transport error")
        if not self._lost:
            self._close_sent = True
            self._host.close_sent = True
            self._transport.abort()

    def send(self, data: str | bytes) -> Awaitable[None]:
        if not self.write(data):
            raise ConnectionError("peer over max_send_buffer_size")
        return _DONE

    async def receive(self) -> str | bytes | None:
        """The next message (before :meth:`run_reader`); None once the connection ended."""
        queue = self._queue
        while not queue:
            if self._reason is not None:
                return None
            if self._closing is not None:  # the peer's close, after its last message
                self._peer_closed(self._closing)
                return None
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        item = queue.pop(0)
        if self._paused and len(queue) < _QUEUE_PAUSE:
            self._resume()
        return item

    async def run_reader(self, on_frame: FrameHandler) -> str:
        """Hand every message to ``on_frame`` as it arrives, until the connection ends.

        ``on_frame`` runs inline from the transport callback up to its first real wait;
        if it waits, reading pauses until it finished (messages stay in order). It returns
        a close reason to end the session, else None. Returns the reason it ended with.
        """
        self._on_frame = on_frame
        done = self._done = asyncio.get_running_loop().create_future()
        if self._reason is not None:
            return self._reason
        self._pump()
        reason: str = await done
        return reason

    async def close(self) -> None:
        self.close_now()

    # -- what the host uses ---------------------------------------------------------------
    @property
    def lost(self) -> bool:
        """Whether the transport is closed (``connection_lost`` was called)."""
        return self._lost

    def finish(self, reason: str) -> None:
        """End the connection for the engine with ``reason`` (the first one given is kept:
        the engine's reader returns it)."""
        self._finish(reason)

    def shut_down(self, reason: str, code: int) -> None:
        """The host is going away: the engine's reader ends with ``reason`` and the peer
        gets a close frame with ``code``."""
        self._finish(reason)
        self.close_now(code)

    async def wait_closed(self) -> None:
        """Return once the transport is closed (close_now aborts it after CLOSE_TIMEOUT)."""
        if self._lost:
            return
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._closed)

    def close_now(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame; the TCP connection ends on the peer's answer or soon after."""
        self._finish("server close")
        if self._close_sent or self._lost:
            return
        self._close_sent = True
        self._host.close_sent = True  # uvicorn's shutdown then only closes the transport
        transport = self._transport
        transport.write(encode_close(code, reason))
        # unsent data (a peer that stopped reading) would keep a plain close() waiting
        asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, transport.abort)

    # -- asyncio.Protocol -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        try:
            text = self._reader.feed_text(data)
            if text is not None:  # one whole text frame: the usual message
                if self._queue or self._on_frame is None or self.blocked:
                    self._queue.append(text)
                    self._pump()
                elif self._reason is None:
                    self._dispatch(text)
                return
            items = self._reader.feed(data)
        except WebSocketError as exc:
            logger.warning("websocket protocol error from %s: %s (closing)", self.name,
                           exc.reason)
            self._fail(exc.code)
            return
        queue = self._queue
        for item in items:
            kind = item.__class__
            if kind is str or kind is bytes:
                queue.append(item)  # type: ignore[arg-type]
            elif kind is Ping:
                if not self._close_sent:
                    self._transport.write(encode_pong(item.payload))  # type: ignore[union-attr]
            else:  # the close frame: answered once the messages before it are handled
                self._closing = item  # type: ignore[assignment]
                break
        self._pump()

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._finish("transport close")
        closed = self._closed
        if closed is not None and not closed.done():
            closed.set_result(None)
        self._host.connection_lost(exc)  # the host forgets the connection

    def pause_writing(self) -> None:
        self._host.pause_writing()

    def resume_writing(self) -> None:
        self._host.resume_writing()

    # -- internals ------------------------------------------------------------------------
    def _pump(self) -> None:
        """Hand queued messages over, in order, while nobody is waiting on one."""
        queue = self._queue
        if self._on_frame is None:  # receive() mode: receive() returns what came first
            # a close frame waits for the messages before it: receive() answers it once
            # they are read, or run_reader() once it has handed them over (the engine
            # may switch from one to the other between two messages: an upgrade)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if len(queue) >= _QUEUE_PAUSE:
                self._pause()
            return
        while queue and not self.blocked and self._reason is None:
            self._dispatch(queue.pop(0))
        if self._reason is not None:
            queue.clear()
        elif self._paused and not self.blocked:
            self._resume()
        if self._closing is not None and not queue and not self.blocked:
            self._peer_closed(self._closing)

    def _dispatch(self, message: str | bytes) -> None:
        """Run the engine's handler for one message, inline up to its first real wait."""
        try:
            # the handler may finish the message at once (no coroutine: None)
            coro = self._context.run(self._on_frame, message)  # type: ignore[arg-type]
            if coro is None:
                return
            yielded = self._context.run(coro.send, None)
        except StopIteration as stop:
            if stop.value is not None:
                self._finish(stop.value)
            return
        except Exception:
            logger.exception("websocket message handler failed for %s", self.name)
            self._finish("transport error")
            return
        # it waits: reading pauses until it is done, so later messages keep their order
        self.blocked = True
        self._pause()
        task = self._context.run(asyncio.ensure_future, continue_started(coro, yielded))
        task.add_done_callback(self._unblocked)

    def _unblocked(self, task: asyncio.Future[str | None]) -> None:
        self.blocked = False
        if task.cancelled():
            self._finish("transport error")
            return
        exc = task.exception()
        if exc is not None:
            logger.error("websocket message handler failed for %s", self.name, exc_info=exc)
            self._finish("transport error")
            return
        reason = task.result()
        if reason is not None:
            self._finish(reason)
        self._pump()

    def _pause(self) -> None:
        if not self._paused and not self._lost:
            self._paused = True
            self._transport.pause_reading()

    def _resume(self) -> None:
        if self._paused and not self._lost:
            self._paused = False
            self._transport.resume_reading()

    def _finish(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason
        done = self._done
        if done is not None and not done.done():
            done.set_result(self._reason)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _peer_closed(self, frame: Close) -> None:
        self._closing = None
        transport = self._transport
        if not self._close_sent:
            self._close_sent = True
            self._host.close_sent = True
            code = frame.code if frame.code != 1005 else 1000
            transport.write(encode_close(code))
        transport.close()
        self._finish("transport close")

    def _fail(self, code: int) -> None:
        transport = self._transport
        if not self._close_sent:
            self._close_sent = True
            self._host.close_sent = True
            transport.write(encode_close(code))
        transport.close()
        self._finish("transport error")
