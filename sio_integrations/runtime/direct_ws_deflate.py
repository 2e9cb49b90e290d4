"""permessage-deflate (RFC 7692) on the direct websocket path of uvicorn and aiohttp.

:class:`DeflateWebSocket` is a :class:`~.direct_ws.DirectWebSocket` whose frame reader
inflates the messages the peer compressed, and which compresses the messages it writes
from the deflater's threshold on (``protocol/engine/wsdeflate.py``: each message on its
own, so a broadcast is compressed once for every connection with the same window).
:func:`deflate_websocket` picks the class from what the handshake negotiated.
"""

from __future__ import annotations

from typing import Any

from ..protocol.engine.wsdeflate import DeflateParams, Deflater, Inflater
from ..protocol.engine.wsframes import FrameReader
from .direct_ws import DirectWebSocket, Host

__all__ = ["DeflateWebSocket", "deflate_websocket"]


class DeflateWebSocket(DirectWebSocket):
    """A :class:`DirectWebSocket` with permessage-deflate: the reader inflates compressed
    messages, and messages from the deflater's threshold on go out compressed."""

    __slots__ = ("_deflater", "_threshold")

    def __init__(self, host: Host, transport: Any, max_size: int, params: DeflateParams, *,
                 peer: Any = None) -> None:  # noqa: D107
        inflater = Inflater(params.client_max_window_bits, params.client_no_context_takeover)
        super().__init__(host, transport, max_size, peer=peer,
                         reader=FrameReader(max_size, inflater))
        self._deflater = _deflater(params.server_max_window_bits)
        self._threshold = self._deflater.threshold

    def write(self, data: str | bytes) -> bool:
        if len(data) < self._threshold:
            return DirectWebSocket.write(self, data)
        return self._put(self._deflater.frame(data))

    def write_many(self, frames: list[str | bytes]) -> bool:
        """One :meth:`write` per message (each may be compressed)."""
        return all([self.write(frame) for frame in frames])


#: one deflater per server window size: connections with the same one share the frames
#: of a broadcast (compressed once)
_deflaters: dict[int, Deflater] = {}


def _deflater(window_bits: int) -> Deflater:
    deflater = _deflaters.get(window_bits)
    if deflater is None:
        deflater = _deflaters[window_bits] = Deflater(window_bits)
    return deflater


def deflate_websocket(host: Host, transport: Any, max_size: int,
                      params: DeflateParams | None, *, peer: Any = None) -> DirectWebSocket:
    """A :class:`DeflateWebSocket` with ``params``, else a plain :class:`DirectWebSocket`."""
    if params is None:
        return DirectWebSocket(host, transport, max_size, peer=peer)
    return DeflateWebSocket(host, transport, max_size, params, peer=peer)
