"""Sending for the asyncio client (source of the generated ``ClientSending``).

The base class of ``AsyncClient`` that holds everything about outgoing events: emits while
connected, the buffer of emits made while disconnected (flushed in order when the namespace
is connected again), acknowledgements and ``call()``, and the at-least-once queue
(``retries``).
"""

from __future__ import annotations

import collections
import inspect
import logging
from collections.abc import Callable
from typing import Any

from ...errors import AckTimeoutError as TimeoutError  # noqa: A004
from ...errors import BadNamespaceError
from ...protocol.acks import PendingAcks
from ...protocol.connection import ClientConnection
from ...protocol.events import Event
from ..client_options import ClientOptions
from ..sockets import as_args, call_result


class _Waiter:
    """The acknowledgement a ``call()`` waits for."""

    def __init__(self, event: Any) -> None:
        self.event = event
        self.args: tuple[Any, ...] = ()
        self.error: BaseException | None = None
        self.ack_id: int | None = None

    def resolve(self, *args: Any) -> None:
        self.args = args
        self.event.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.event.set()


class _Outgoing:
    """An emit waiting to be sent (disconnected) or acknowledged (``retries`` mode)."""

    __slots__ = ("args", "callback", "event", "generation", "namespace", "tries", "waiter")

    def __init__(self, namespace: str, event: str, args: list[Any],
                 callback: Callable[..., Any] | None, waiter: _Waiter | None) -> None:
        self.namespace = namespace
        self.event = event
        self.args = args
        self.callback = callback
        self.waiter = waiter
        self.tries = 0
        self.generation = 0


class AsyncClientSending:
    """Emitting, buffering and acknowledgements; ``AsyncClient`` provides the state."""

    options: ClientOptions
    serializer: Any
    backend: Any
    logger: logging.Logger
    eio: Any
    namespaces: dict[str, str]
    connection_namespaces: list[str]
    _running: bool
    _conn: ClientConnection | None
    #: ack id -> (callback, whether it is ours and runs inline in the reader)
    _acks: PendingAcks[tuple[Callable[..., Any], bool]]
    _outgoing: collections.deque[_Outgoing]
    _in_flight: _Outgoing | None
    _mutex: Any
    _send_lock: Any
    #: set by disconnect(): ends the retry timers early
    _stop: Any

    def _enqueue(self, item: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def _helper(self, fn: Callable[..., Any], *args: Any) -> None:
        raise NotImplementedError

    @staticmethod
    async def _call(func: Callable[..., Any], *args: Any) -> Any:
        result = func(*args)
        if inspect.isawaitable(result):
            result = await result
        return result

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, event: Any) -> None:
        conn, eio = self._conn, self.eio
        if conn is None or eio is None:
            return
        with self._send_lock:  # the frames of a binary packet stay together
            for frame in conn.send(event):
                await eio.send(frame)

    async def emit(self, event: str, data: Any = None, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> None:
        """Emit ``event`` (``data`` a tuple for several arguments). While reconnecting the
        emit is buffered and sent after the connection is back."""
        await self._emit(namespace or "/", event, as_args(data), callback, None)

    async def send(self, data: Any, namespace: str | None = None,
                   callback: Callable[..., Any] | None = None) -> None:
        """Emit the ``message`` event."""
        await self.emit("message", data=data, namespace=namespace, callback=callback)

    async def call(self, event: str, data: Any = None, namespace: str | None = None,
                   timeout: float = 60) -> Any:
        """Emit and wait for the acknowledgement: its one value, a tuple of several, or
        None. Raises ``TimeoutError`` when none arrives within ``timeout`` seconds."""
        waiter = _Waiter(self.backend.event())
        item = await self._emit(namespace or "/", event, as_args(data), None, waiter)
        if not await self.backend.wait_event(waiter.event, timeout):
            with self._mutex:
                if waiter.ack_id is not None:
                    self._acks.pop(waiter.ack_id)
                if item in self._outgoing:
                    self._outgoing.remove(item)
                if self._in_flight is item:
                    self._in_flight = None
                    item.generation += 1
            if self.options.retries:
                await self._send_next()
            raise TimeoutError()
        if waiter.error is not None:
            raise waiter.error
        return call_result(waiter.args)

    async def _emit(self, namespace: str, event: str, args: list[Any],
                    callback: Callable[..., Any] | None, waiter: _Waiter | None) -> _Outgoing:
        # encode once now, so that a bad event name or value fails at the caller
        self.serializer.encode_event(namespace, event, args, None)
        item = _Outgoing(namespace, event, args, callback, waiter)
        if self.options.retries:
            self._buffer(item)
            await self._send_next()
        elif namespace in self.namespaces and not any(
                queued.namespace == namespace for queued in self._outgoing):
            await self._transmit(item)
        else:
            self._buffer(item)
        return item

    def _buffer(self, item: _Outgoing) -> None:
        if not self._running or item.namespace not in self.connection_namespaces:
            raise BadNamespaceError(f"{item.namespace} is not a connected namespace.")
        limit = self.options.max_buffered_emits
        with self._mutex:
            if not limit and not self.options.retries:
                raise BadNamespaceError(f"{item.namespace} is not connected (buffering is off)")
            if limit and len(self._outgoing) >= limit:
                raise BadNamespaceError(
                    f"{item.namespace} is not connected and the emit buffer is full "
                    f"(max_buffered_emits={limit})")
            self._outgoing.append(item)

    async def _transmit(self, item: _Outgoing, on_ack: Callable[..., Any] | None = None) -> None:
        ack_id = None
        if on_ack is not None:
            ack_id = self._acks.register((on_ack, True))
        elif item.waiter is not None:
            ack_id = self._acks.register((item.waiter.resolve, True))
        elif item.callback is not None:
            ack_id = self._acks.register((item.callback, False))
        if item.waiter is not None:
            item.waiter.ack_id = ack_id
        await self._send(Event(namespace=item.namespace, name=item.event, args=item.args,
                               ack_id=ack_id))

    async def _flush(self, namespace: str) -> None:
        """Send what was buffered for ``namespace`` (in order) now that it is connected."""
        if self.options.retries:
            await self._send_next()
            return
        while True:
            with self._mutex:
                item = next((i for i in self._outgoing if i.namespace == namespace), None)
                if item is None:
                    return
                self._outgoing.remove(item)
            await self._transmit(item)

    # -- at-least-once delivery (retries > 0): one emit in flight at a time, like JS ------

    async def _send_next(self) -> None:
        with self._mutex:
            if self._in_flight is not None or not self._outgoing:
                return
            item = self._outgoing[0]
            if item.namespace not in self.namespaces:
                return
            self._in_flight = item
            item.tries += 1
            item.generation += 1
            generation = item.generation
        await self._transmit(item, on_ack=lambda *args: self._delivered(item, generation, args))
        self._helper(self._ack_timer, item, generation)

    async def _delivered(self, item: _Outgoing, generation: int, args: tuple[Any, ...]) -> None:
        with self._mutex:
            if self._in_flight is not item or item.generation != generation:
                return  # a late ack of an attempt we gave up on
            self._in_flight = None
            self._outgoing.popleft()
            item.generation += 1
        if item.callback is not None:
            self._enqueue(("ack", item.callback, args))
        if item.waiter is not None:
            item.waiter.resolve(*args)
        await self._send_next()

    async def _ack_timer(self, item: _Outgoing, generation: int) -> None:
        try:
            if await self.backend.wait_event(self._stop, self.options.ack_timeout):
                return
            with self._mutex:
                if self._in_flight is not item or item.generation != generation:
                    return
                self._in_flight = None
                if item.tries > self.options.retries:
                    self._outgoing.popleft()
                    item.generation += 1
                    self.logger.warning("%r not acknowledged after %d tries, dropped",
                                        item.event, item.tries)
                    if item.waiter is not None:
                        item.waiter.fail(TimeoutError())
            await self._send_next()
        except Exception:
            self.logger.exception("error in the retry timer of %r", item.event)

    def _fail_outgoing(self, error: BaseException) -> None:
        with self._mutex:
            items = list(self._outgoing)
            self._outgoing.clear()
            self._in_flight = None
        for item in items:
            if item.waiter is not None:
                item.waiter.fail(error)
