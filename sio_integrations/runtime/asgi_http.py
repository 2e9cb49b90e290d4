"""The direct HTTP response: a long-polling answer written to uvicorn's transport at once.

Through ASGI a response is two messages, and uvicorn's httptools protocol writes each one
to the socket as it comes: a system call for the status line and headers, another for the
body, after checking every header against two regular expressions. A long-polling
exchange is two small responses per message, so on uvicorn :func:`respond_now` builds the
whole response (uvicorn's own default headers first, as it would) and writes it in one
call, then updates the request cycle exactly as uvicorn's ``send`` does for a complete
response (access log line, keep-alive, pipelined requests, the keep-alive timer).
Whenever anything is unusual (another server or protocol class, a paused or closed
connection, a HEAD request, a header uvicorn would refuse) it returns False and the caller
sends the usual ASGI messages.

:class:`DisconnectWatch` is how a waiting long-polling GET learns that its client left
(any ASGI server): it follows ``receive()`` until ``http.disconnect``, without a task.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# header blocks already built, for uvicorn's current default headers (it renews that list,
# with its date header, every second: the cache starts over then)
_heads: dict[tuple[tuple[tuple[bytes, bytes], ...], bool], bytes | None] = {}
_heads_default: list[Any] = [None]
_HEADS_MAX = 256
# what uvicorn refuses in a header value (its HEADER_VALUE_RE)
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')

_CYCLE_CLASS = "RequestResponseCycle"
_CYCLE_MODULE = "uvicorn.protocols.http.httptools_impl"
_CYCLES: set[type] = set()  # the class, once recognised


def on_uvicorn(send: Any) -> bool:
    """Whether ``send`` is uvicorn's httptools ``send`` (what :func:`respond_now` needs)."""
    cls = getattr(send, "__self__", None).__class__
    if cls in _CYCLES:
        return True
    if cls.__name__ != _CYCLE_CLASS or cls.__module__ != _CYCLE_MODULE:
        return False
    _CYCLES.add(cls)
    return True


def respond_now(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """Write a complete response on uvicorn's httptools connection behind ``send``.

    False means nothing was written: send the ASGI messages instead.
    """
    if not on_uvicorn(send):
        return False
    return write_response(send.__self__, status, headers, body)


def write_response(cycle: Any, status: int, headers: list[tuple[bytes, bytes]],
                   body: bytes) -> bool:
    """:func:`respond_now` for a ``cycle`` known to be uvicorn's httptools one."""
    try:
        scope = cycle.scope
        if (cycle.response_started or cycle.disconnected
                or cycle.flow.write_paused or scope["method"] == "HEAD"
                or status == 204 or status == 304):
            return False
        status_line = _STATUS_LINES.get(status)
        if status_line is None:
            return False
        head = _head(cycle.default_headers, headers, cycle.keep_alive)
        if head is None:
            return False
        if cycle.access_log:
            _access_log(cycle.access_logger, scope, status)
        transport = cycle.transport
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        transport.write(b"".join((status_line, head, b"content-length: %d\r\n\r\n" % len(body),
                                  body)))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            transport.close()
        cycle.on_response()
    except AttributeError:  # another uvicorn version: the ASGI path
        return False
    return True


def _access_log(logger: Any, scope: Any, status: int) -> None:
    """uvicorn's access log line, as its ``send`` writes it."""
    from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

    logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                get_path_with_query_string(scope), scope["http_version"], status)


def _head(default: list[tuple[bytes, bytes]], headers: list[tuple[bytes, bytes]],
          keep_alive: bool) -> bytes | None:
    """The header lines (uvicorn's defaults first) without the content length; None when
    a header is one uvicorn would refuse or one that frames the body (the ASGI path)."""
    if _heads_default[0] is not default:
        _heads.clear()
        _heads_default[0] = default  # (kept referenced: its id is never reused meanwhile)
    key = (tuple(headers), keep_alive)
    head = _heads.get(key, False)
    if head is not False:
        return head  # type: ignore[return-value]
    parts: list[bytes] | None = []
    for name, value in (*default, *headers):
        name = name.lower()
        if (name in (b"content-length", b"transfer-encoding", b"connection")
                or _BAD_NAME.search(name) or _BAD_VALUE.search(value)):
            parts = None
            break
        parts.append(b"%s: %s\r\n" % (name, value))  # type: ignore[union-attr]
    if parts is not None and not keep_alive:
        parts.append(b"connection: close\r\n")
    head = None if parts is None else b"".join(parts)
    if len(_heads) < _HEADS_MAX:
        _heads[key] = head
    return head


def _status_lines() -> dict[int, bytes]:
    import http

    lines = {}
    for status in http.HTTPStatus:
        lines[int(status)] = b"HTTP/1.1 %d %s\r\n" % (int(status), status.phrase.encode())
    return lines


_STATUS_LINES = _status_lines()


class DisconnectWatch:
    """Follows ``receive()`` of a waiting request until the client disconnects.

    ``on_gone()`` is called (once) when ``http.disconnect`` arrives; the request message
    itself (a GET has an empty body) is read and dropped. No task, no context copy (a
    host's receive() reads no context variable): the pending receive() is stepped from
    its future's callback, and :meth:`stop` closes it, so nothing stays registered with
    the host afterwards. A receive() that waits on something other than a future is not
    followed (the ping still ends the request).
    """

    __slots__ = ("_receive", "_on_gone", "_coro", "_future", "gone")

    def __init__(self, receive: Callable[[], Any], on_gone: Callable[[], object]) -> None:
        self._receive = receive
        self._on_gone = on_gone
        self._coro: Any = None
        self._future: Any = None
        self.gone = False
        self._follow(None)

    def _follow(self, coro: Any) -> None:
        """Step ``coro`` (a receive() under way), then new receive() calls, until one
        waits (or the disconnect comes)."""
        for _ in range(_MAX_MESSAGES):
            try:
                if coro is None:
                    coro = self._receive()
                yielded = coro.send(None)
            except StopIteration as stop:
                coro = None
                message = stop.value
                kind = message.get("type") if message.__class__ is dict else None
                if kind == "http.request":  # the request (or a piece of its body): read on
                    continue
                if kind == "http.disconnect":
                    self.gone = True
                    self._on_gone()
                return
            except Exception:  # a receive we cannot follow: nothing to watch any more
                return
            if getattr(yielded, "_asyncio_future_blocking", None) is None:
                break  # a bare yield or a foreign awaitable: not followed
            yielded._asyncio_future_blocking = False  # we await it on receive()'s behalf
            self._coro = coro
            self._future = yielded
            yielded.add_done_callback(self._wake)
            return
        if coro is not None:
            _close(coro)

    def _wake(self, future: Any) -> None:
        if future is not self._future:
            return  # stale: stop() or check() took care of it
        coro = self._coro
        self._coro = self._future = None
        self._follow(coro)

    def check(self) -> bool:
        """Whether the client is gone, counting a disconnect the host has already
        signalled but whose callback has not run yet."""
        future = self._future
        if future is not None and future.done():
            future.remove_done_callback(self._wake)
            self._wake(future)
        return self.gone

    def stop(self) -> bool:
        """Stop watching (the pending ``receive()`` is closed); whether the client left."""
        coro, future = self._coro, self._future
        if coro is not None:
            self._coro = self._future = None
            future.remove_done_callback(self._wake)
            _close(coro)
        return self.gone


# request messages (body chunks) read before a watch gives up on a request
_MAX_MESSAGES = 10_000


def _close(coro: Any) -> None:
    try:
        coro.close()
    except RuntimeError:  # it awaited in its clean-up: nothing more we can do
        pass
