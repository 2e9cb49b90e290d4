"""The direct websocket path on aiohttp: after aiohttp's handshake, we own the connection.

aiohttp reads a websocket through its frame parser, a message queue and an awaited
``receive()`` per message, and writes through its frame writer with a ``drain()``. The
engine does not need any of it: once aiohttp's ``WebSocketResponse`` has answered the
handshake, :func:`websocket` points the connection's transport at the same
:class:`~.direct_ws.DirectWebSocket` the uvicorn path uses (frames parsed in
``data_received`` and handed to the engine at once, sends written straight to the
transport, the slow-consumer policy by progress). We negotiate permessage-deflate
ourselves (``wsdeflate.negotiate``: aiohttp's own negotiation ignores the client's window
and context parameters) and answer it in the response's headers, so a client offering it
(browsers, the JS client) is taken over too, as a :class:`~.direct_ws_deflate.DeflateWebSocket`.

aiohttp's own bookkeeping keeps working: its ``RequestHandler`` still gets
``connection_lost`` (the server forgets the connection), the request handler returns only
once the connection is gone (so aiohttp neither lingers nor writes a second close frame),
and its graceful shutdown (``AppRunner.cleanup()``, which first calls ``close()`` on every
connection) closes our websockets with 1001 at once instead of waiting for
``shutdown_timeout``. A cancelled request handler (``handler_cancellation=True``) closes the
websocket too, and the engine still ends the session. With the driver's
``websocket_deflate`` False the extension is declined.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..protocol.engine.wsdeflate import DeflateParams, negotiate
from .direct_ws import CLOSE_TIMEOUT, DirectWebSocket
from .direct_ws_deflate import deflate_websocket

#: returned by :func:`websocket` when the request is left to engineio's aiohttp wrapper
NOT_DIRECT: Any = object()
#: close code sent to the clients when aiohttp shuts down (going away)
SHUTDOWN_CODE = 1001

Handler = Callable[[Any], Awaitable[None]]


class _Host:
    """The :class:`~.direct_ws.Host` hooks on aiohttp's ``RequestHandler`` (which keeps
    ``__slots__``, so the flag lives here)."""

    __slots__ = ("handler", "close_sent")

    def __init__(self, handler: Any) -> None:  # noqa: D107
        self.handler = handler
        self.close_sent = False

    def connection_lost(self, exc: Exception | None) -> None:
        # aiohttp forgets the connection; with handler_cancellation=True it would also
        # cancel the request handler, cutting the engine off while it ends the session:
        # the handler returns by itself now (the reader has finished), so it is not told
        self.handler._task_handler = None
        self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class _DeflateResponse(web.WebSocketResponse):
    """aiohttp's response to a handshake whose permessage-deflate we negotiated: should
    aiohttp keep the connection after all (see :func:`websocket`), its reader inflates what
    the client compresses (its writer sends uncompressed, which RFC 7692 allows)."""

    def _pre_start(self, request: web.BaseRequest) -> Any:
        started = super()._pre_start(request)
        self._compress = 15  # after the handshake, which would have answered for itself
        return started


class ResponseWebSocket:
    """aiohttp's own ``WebSocketResponse`` behind the engine's websocket interface (used
    when a prepared response cannot be taken over)."""

    __slots__ = ("_ws",)

    def __init__(self, ws: Any) -> None:  # noqa: D107
        self._ws = ws

    async def send(self, data: str | bytes) -> None:
        if data.__class__ is str:
            await self._ws.send_str(data)
        else:
            await self._ws.send_bytes(data)

    async def receive(self) -> str | bytes | None:
        try:
            message = await self._ws.receive()
        except Exception:
            return None
        data = message.data
        return data if isinstance(data, (str, bytes)) else None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close()


async def websocket(environ: dict[str, Any], handler: Handler, max_size: int, *,
                    deflate: bool = True) -> Any:
    """Answer the websocket handshake of ``environ``'s aiohttp request and run ``handler``
    on it, on a connection we own when we can. Returns the response for aiohttp, or
    ``NOT_DIRECT`` (nothing done yet) when the request should go to engineio's wrapper.

    ``deflate=False`` declines permessage-deflate (every extension is declined: we speak
    no other)."""
    request = environ.get("aiohttp.request")
    if request is None:
        return NOT_DIRECT
    protocol = request.protocol
    if getattr(protocol, "_message_tail", None) != b"" or getattr(
            protocol, "_waiter", False) is not None:
        return NOT_DIRECT  # data behind the upgrade request, or another aiohttp version
    accepted = negotiate(environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS")) if deflate else None
    # aiohttp's own negotiation stays off: its handshake then leaves our header alone
    params: DeflateParams | None = None
    if accepted is None:
        response = web.WebSocketResponse(max_msg_size=max_size, compress=False)
    else:
        response = _DeflateResponse(max_msg_size=max_size, compress=False)
        params, response.headers["Sec-WebSocket-Extensions"] = accepted
    # whether the loop ran while aiohttp prepared the response: only then can bytes have
    # reached aiohttp's own parser (data_received is a loop callback)
    loop = asyncio.get_running_loop()
    ran: list[bool] = []
    probe = loop.call_soon(ran.append, True)
    await response.prepare(request)
    probe.cancel()
    transport = request.transport
    if ran or transport is None or transport.is_closing() or response.closed:
        await _run_plain(response, handler)
        return response
    ws = _take_over(response, protocol, transport, request.remote, max_size, params)
    await _run_direct(ws, protocol, handler)
    return response


def _take_over(response: Any, protocol: Any, transport: Any, peer: Any, max_size: int,
               params: DeflateParams | None) -> DirectWebSocket:
    """Point the transport at a DirectWebSocket; aiohttp's response thinks it is closed
    (its write_eof() after the handler then sends nothing and waits for nothing)."""
    ws = deflate_websocket(_Host(protocol), transport, max_size, params, peer=peer)
    transport.set_protocol(ws)
    # aiohttp's parser and queue are no longer fed: free them (memory per connection)
    protocol._payload_parser = None
    protocol._data_received_cb = None
    response._set_closed()
    response._parser = response._reader = None
    return ws


async def _run_direct(ws: DirectWebSocket, protocol: Any, handler: Handler) -> None:
    """Run the engine's ``handler`` on ``ws`` and return once the connection is gone."""
    # aiohttp's graceful shutdown calls close() on every connection, which cancels the
    # protocol's idle "next request" waiter: while the websocket runs, that waiter is ours
    stop = asyncio.get_running_loop().create_future()

    def shutting_down(_: Any) -> None:
        _shut_down(ws)

    stop.add_done_callback(shutting_down)
    protocol._waiter = stop
    # the engine runs inline in aiohttp's request task (a task of its own would cost
    # 2 KiB per idle connection); a request task cancelled anyway (aiohttp's shutdown
    # timeout shorter than our close handshake) at least drops the connection
    try:
        await handler(ws)
    except asyncio.CancelledError:
        _shut_down(ws)
        raise
    finally:
        if protocol._waiter is stop:
            protocol._waiter = None
        stop.remove_done_callback(shutting_down)
    ws.close_now()
    await _gone(ws)


def _shut_down(ws: DirectWebSocket) -> None:
    """The host is going away: the session ends with the engine's shutdown reason."""
    ws.shut_down("server shutting down", SHUTDOWN_CODE)


async def _gone(ws: DirectWebSocket) -> None:
    """Wait until the transport is closed (close_now aborts it after CLOSE_TIMEOUT)."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(ws.wait_closed(), CLOSE_TIMEOUT * 2)


async def _run_plain(response: Any, handler: Handler) -> None:
    ws = ResponseWebSocket(response)
    try:
        await handler(ws)
    finally:
        await ws.close()
