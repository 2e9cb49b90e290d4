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

from .backends import Follower

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


def respond_now(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
    """Write a complete response on uvicorn's httptools connection behind ``send``.

    False means nothing was written: send the ASGI messages instead.
    """
    cycle: Any = getattr(send, "__self__", None)
    cls = cycle.__class__
    if cls.__name__ != _CYCLE_CLASS or cls.__module__ != _CYCLE_MODULE:
        return False
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
    itself (a GET has an empty body) is read and dropped. No task: the receive coroutine
    is stepped from its futures' callbacks (:class:`~.backends.Follower`), and
    :meth:`stop` closes it, so nothing stays registered with the host afterwards.
    """

    __slots__ = ("_receive", "_on_gone", "_follower", "_again", "_starting", "gone")

    def __init__(self, receive: Callable[[], Any], on_gone: Callable[[], object]) -> None:
        self._receive = receive
        self._on_gone = on_gone
        self._follower: Follower | None = None
        self._again = False
        self._starting = False
        self.gone = False
        self._follow()

    def _follow(self) -> None:
        while True:  # (a loop, not recursion, for messages that arrive at once)
            self._again = False
            self._starting = True
            try:
                self._follower = Follower(self._receive(), self._received)
            except Exception:  # a receive we cannot follow: no watch (the ping ends the GET)
                self._follower = None
                return
            finally:
                self._starting = False
            if not self._again:
                return

    def _received(self, ok: bool, message: Any) -> None:
        self._follower = None
        if not ok or message.__class__ is not dict:
            return  # receive() failed: nothing to watch any more (not a disconnect)
        kind = message.get("type")
        if kind == "http.request":  # the request (or a piece of its body): read on
            if self._starting:
                self._again = True
            else:
                self._follow()
        elif kind == "http.disconnect":
            self.gone = True
            self._on_gone()

    def check(self) -> bool:
        """Whether the client is gone, counting a disconnect the host has already
        signalled but whose callback has not run yet."""
        follower = self._follower
        if follower is not None:
            follower.poll()
        return self.gone

    def stop(self) -> bool:
        """Stop watching (the pending ``receive()`` is closed); whether the client left."""
        follower, self._follower = self._follower, None
        self._again = False
        if follower is not None:
            follower.close()
        return self.gone
