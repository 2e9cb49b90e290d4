"""The direct websocket path: after uvicorn's handshake, we own the connection.

ASGI hands every websocket message through the server's parser, a message dict, a queue and
a task wake-up, and every send through a dict, an event and the server's frame builder. On
a busy Socket.IO server that plumbing costs more than the Socket.IO work itself. So once
uvicorn (its default ``websockets-sansio`` implementation) has accepted a websocket without
a compression extension, :func:`take_over` points the connection's transport at a
:class:`DirectWebSocket`: frames are parsed in ``data_received`` and handed to the engine
at once (no task per message), and sends are written to the transport immediately (no
waiting on a slow peer: a peer whose unsent bytes pass the limit is disconnected instead).
Anything else (another host, wsproto, permessage-deflate, early data) keeps the plain
ASGI path. uvicorn still sees the connection close (``connection_lost`` is forwarded), so
its bookkeeping and graceful shutdown are unchanged. Measured gains: docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
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
from .eager import continue_started

logger = logging.getLogger("sio_integrations.engine")

FrameHandler = Callable[[str | bytes], Coroutine[Any, Any, str | None]]

#: how long a connection we closed waits for the peer's close frame before dropping TCP
CLOSE_TIMEOUT = 2.0
#: messages buffered before the engine reads them (the upgrade probe) before reading pauses
_QUEUE_PAUSE = 16

# the last frame built: a broadcast writes the same string to every member, framed once
_last_data: Any = None
_last_wire = b""


class _Done:
    """An awaitable that is already complete (what ``send`` returns: nothing to wait for)."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # a generator that finishes at once


_DONE = _Done()


def take_over(send: Any, max_size: int) -> DirectWebSocket | None:
    """Own the websocket behind the ASGI ``send`` that just accepted it, when we can."""
    host: Any = getattr(send, "__self__", None)
    cls = type(host)
    if cls.__name__ != "WebSocketsSansIOProtocol" or not cls.__module__.startswith("uvicorn."):
        return None
    try:
        transport = host.transport
        reader = getattr(host.conn, "reader", None)
        ready = (
            host.handshake_complete
            and not host.close_sent
            and not host.disconnected
            and not host.conn.extensions  # permessage-deflate: keep uvicorn's codec
            and host.queue.empty()
            and not host.frames
            and (reader is None or not getattr(reader, "buffer", b""))
            and not transport.is_closing()
        )
    except AttributeError:  # another uvicorn version: keep the ASGI path
        return None
    if not ready:
        return None
    host.stop_keepalive()  # Engine.IO's own heartbeat watches the connection
    ws = DirectWebSocket(host, transport, max_size)
    transport.set_protocol(ws)
    if host.read_paused:
        host.read_paused = False
        transport.resume_reading()
    return ws


class DirectWebSocket(asyncio.Protocol):
    """A websocket connection read and written by us (see the module docstring)."""

    def __init__(self, host: Any, transport: Any, max_size: int) -> None:  # noqa: D107
        self._host = host
        self._transport = transport
        self._reader = FrameReader(max_size)
        self._queue: deque[str | bytes] = deque()
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
        self._context = contextvars.copy_context()
        self.peer = getattr(host, "client", None)

    # -- what the engine uses -------------------------------------------------------------
    def direct_writer(self, limit: int) -> Callable[[str | bytes], bool]:
        """The synchronous writer: ``write(frame)`` is False once the peer is over ``limit``
        bytes behind (the slow-consumer policy is the caller's)."""
        self._limit = limit
        return self.write

    def write(self, data: str | bytes) -> bool:
        global _last_data, _last_wire
        if data is _last_data:
            wire = _last_wire
        else:
            wire = encode_text(data) if isinstance(data, str) else encode_binary(data)
            _last_data, _last_wire = data, wire
        if self._close_sent or self._lost:
            return True
        transport = self._transport
        transport.write(wire)
        return bool(transport.get_write_buffer_size() <= self._limit)

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
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        item = queue.popleft()
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

    def close_now(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame; the TCP connection ends on the peer's answer or soon after."""
        self._finish("server close")
        if self._close_sent or self._lost:
            return
        self._close_sent = True
        self._host.close_sent = True  # uvicorn's shutdown then only closes the transport
        transport = self._transport
        transport.write(encode_close(code, reason))
        asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, transport.close)

    # -- asyncio.Protocol -----------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        try:
            items = self._reader.feed(data)
        except WebSocketError as exc:
            logger.warning("websocket protocol error from %s: %s (closing)", self.peer,
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
            else:
                self._peer_closed(item)  # type: ignore[arg-type]
                break
        if queue:
            self._pump()

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._finish("transport close")
        self._host.connection_lost(exc)  # uvicorn forgets the connection

    def pause_writing(self) -> None:
        self._host.pause_writing()

    def resume_writing(self) -> None:
        self._host.resume_writing()

    # -- internals ------------------------------------------------------------------------
    def _pump(self) -> None:
        """Hand queued messages over, in order, while nobody is waiting on one."""
        on_frame = self._on_frame
        queue = self._queue
        if on_frame is None:  # receive() mode
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if len(queue) >= _QUEUE_PAUSE:
                self._pause()
            return
        context = self._context
        while queue and not self.blocked and self._reason is None:
            coro = on_frame(queue.popleft())
            try:
                yielded = context.run(coro.send, None)
            except StopIteration as stop:
                if stop.value is not None:
                    self._finish(stop.value)
                continue
            except Exception:
                logger.exception("websocket message handler failed for %s", self.peer)
                self._finish("transport error")
                break
            self.blocked = True
            self._pause()
            task = context.run(asyncio.ensure_future, continue_started(coro, yielded))
            task.add_done_callback(self._unblocked)
            return
        if self._reason is not None:
            queue.clear()
        elif self._paused:
            self._resume()

    def _unblocked(self, task: asyncio.Future[str | None]) -> None:
        self.blocked = False
        if task.cancelled():
            self._finish("transport error")
            return
        exc = task.exception()
        if exc is not None:
            logger.error("websocket message handler failed for %s", self.peer, exc_info=exc)
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
