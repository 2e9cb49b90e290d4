"""The direct websocket path on uvicorn: after its handshake, we own the connection.

ASGI hands every websocket message through the server's parser, a message dict, a queue and
a task wake-up, and every send through a dict, an event and the server's frame builder. On
a busy Socket.IO server that plumbing costs more than the Socket.IO work itself. So once
uvicorn (its default ``websockets-sansio`` implementation) has accepted a websocket,
:func:`take_over` points the connection's transport at a
:class:`~.direct_ws.DirectWebSocket` (frames parsed in ``data_received`` and handed to the
engine at once, sends written to the transport immediately). When the handshake negotiated
permessage-deflate (browsers and the JS client offer it, uvicorn accepts it by default), the
parameters websockets agreed on are read from its extension object and a
:class:`~.direct_ws_deflate.DeflateWebSocket` takes over with zlib contexts of its own (no message
was exchanged yet, so none of websockets' state is needed). Anything else (another host,
wsproto, another extension, early data) keeps the plain ASGI path. uvicorn still sees the
connection close (``connection_lost`` is forwarded), so its bookkeeping and graceful
shutdown are unchanged. Measured gains: docs/architecture.md.
"""

from __future__ import annotations

import functools
from typing import Any

from ..protocol.engine.wsdeflate import DeflateParams
from ..protocol.engine.wsframes import encode_close
from .direct_ws import CLOSE_TIMEOUT, DirectWebSocket
from .direct_ws_deflate import deflate_websocket

__all__ = ["CLOSE_TIMEOUT", "DirectWebSocket", "take_over"]

_NOT_DEFLATE: Any = object()


def take_over(send: Any, max_size: int) -> DirectWebSocket | None:
    """Own the websocket behind the ASGI ``send`` that just accepted it, when we can."""
    host: Any = getattr(send, "__self__", None)
    cls = type(host)
    if cls.__name__ != "WebSocketsSansIOProtocol" or not cls.__module__.startswith("uvicorn."):
        return None
    try:
        transport = host.transport
        reader = getattr(host.conn, "reader", None)
        params = _deflate_params(host.conn.extensions)
        ready = (
            host.handshake_complete
            and not host.close_sent
            and not host.disconnected
            and params is not _NOT_DEFLATE
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
    # what uvicorn still calls on this connection (connection_lost, shutdown) only needs
    # these small stand-ins; its parser, request, response and queue are freed (memory
    # per idle connection)
    host.conn = _HostCodec()
    host.queue = _NoQueue()
    host.request = host.response = None
    ws = deflate_websocket(host, transport, max_size, params, peer=getattr(host, "client", None))
    # uvicorn's graceful shutdown closes its connections through this method: ours says
    # 1012 and drops what a peer that stopped reading would never take (uvicorn's own
    # close would wait for that data to flush, and the shutdown with it); for the engine
    # the peer's connection closed
    host.shutdown = functools.partial(ws.shut_down, "transport close", 1012)
    transport.set_protocol(ws)
    if host.read_paused:
        host.read_paused = False
        transport.resume_reading()
    return ws


def _deflate_params(extensions: list[Any]) -> Any:
    """The permessage-deflate parameters websockets negotiated (None: no extension;
    ``_NOT_DEFLATE``: something we do not speak, or a compressed message under way)."""
    if not extensions:
        return None
    try:
        from websockets.extensions.permessage_deflate import PerMessageDeflate
    except ImportError:  # pragma: no cover - uvicorn's sansio implementation needs it
        return _NOT_DEFLATE
    if len(extensions) != 1:
        return _NOT_DEFLATE
    ext = extensions[0]
    if type(ext) is not PerMessageDeflate or ext.decode_cont_data:
        return _NOT_DEFLATE
    # "remote" is the client, "local" the server (websockets' public attributes)
    return DeflateParams(server_no_context_takeover=ext.local_no_context_takeover,
                         client_no_context_takeover=ext.remote_no_context_takeover,
                         server_max_window_bits=ext.local_max_window_bits,
                         client_max_window_bits=ext.remote_max_window_bits)


class _HostCodec:
    """Replaces uvicorn's websockets codec once we own the connection: its graceful
    shutdown can still send its close frame (1012) through it."""

    __slots__ = ("_out",)

    def __init__(self) -> None:  # noqa: D107
        self._out: list[bytes] = []

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self._out.append(encode_close(code, reason))

    def data_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out


class _NoQueue:
    """Replaces uvicorn's ASGI receive queue once we own the connection (nobody reads it)."""

    __slots__ = ()

    def put_nowait(self, message: Any) -> None:
        pass

    def empty(self) -> bool:
        return True
