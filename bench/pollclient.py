"""A minimal Socket.IO client over Engine.IO v4 long-polling, for the load generator.

Each client holds two keep-alive HTTP/1.1 connections, as browsers do: one always has a
``GET /socket.io/?EIO=4&transport=polling&sid=..`` outstanding (the server answers when it has
packets, ``\\x1e``-separated), the other sends ``POST`` bodies one at a time; packets emitted
while a POST is in flight are batched into the next one. The client never upgrades.
Callback driven like bench/wsclient.py (no task or future per message); only what the
benchmark needs is implemented.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import cast

PATH = "/socket.io/?EIO=4&transport=polling"


class HttpConn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time.

    ``on_response(status, body)`` is called for every complete response; Content-Length and
    chunked bodies are understood.
    """

    def __init__(self, host: str, on_response: Callable[[int, bytes], None]) -> None:
        self.host = host
        self.on_response = on_response
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False
        self.lost: Callable[[], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.lost is not None:
            self.lost()

    def request(self, method: str, path: str, body: bytes = b"") -> None:
        if self.transport is None:
            return
        self.busy = True
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if method == "POST":
            head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
        self.transport.write(head.encode() + b"\r\n" + body)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        for _ in range(1000):  # bounded: a few responses per chunk at most
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            status = int(head[9:12])
            length = -1
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value:
                    chunked = True
            start = end + 4
            if chunked:
                body, used = _dechunk(buf, start)
                if body is None:
                    return
                del buf[:used]
            elif length >= 0:
                if len(buf) - start < length:
                    return
                body = bytes(buf[start : start + length])
                del buf[: start + length]
            else:
                raise RuntimeError("response without a length")
            self.busy = False
            self.on_response(status, body)
            if not buf:
                return

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes | None, int]:
    """(body, bytes used) of a complete chunked body starting at ``pos``, or (None, 0)."""
    parts: list[bytes] = []
    for _ in range(10000):
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buf.find(b"\r\n", eol + 2)
            if trailer_end < 0:
                return None, 0
            return b"".join(parts), trailer_end + 2
        if len(buf) < eol + 2 + size + 2:
            return None, 0
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2
    raise RuntimeError("too many chunks")


class PollClient:
    """One Socket.IO client on long-polling, with the attributes the echo loop uses
    (``on_message``, ``emit``, ``expect``, ``sent_at``) like bench/wsclient.SioClient."""

    def __init__(self, host: str, on_message: Callable[[PollClient, bytes], None]) -> None:
        self.host = host
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.get = HttpConn(host, self._on_get)
        self.post = HttpConn(host, self._on_post)
        self.get.lost = self.post.lost = self._lost
        self.sid = ""
        self.outbox: list[bytes] = []
        self.closing = False
        self.next_id = 0
        self.expect = -1
        self.sent_at = 0.0
        self.pings = 0

    def start(self) -> None:
        self.get.request("GET", PATH)

    def _lost(self) -> None:
        if not self.ready.done() and not self.closing:
            self.ready.set_exception(ConnectionError("connection closed before connect"))

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        self.close()

    def _on_get(self, status: int, body: bytes) -> None:
        if status != 200:
            if not self.closing:
                self._fail(f"GET answered {status}: {body[:200]!r}")
            return
        first = not self.sid
        for packet in body.split(b"\x1e"):
            kind = packet[:1]
            if kind == b"4":
                sio = packet[1:]
                if self.ready.done():
                    self.on_message(self, sio)
                elif sio[:1] == b"0":
                    self.ready.set_result(None)
                elif sio[:1] == b"4":
                    self._fail(f"connect refused: {sio!r}")
                    return
            elif kind == b"2":
                self.pings += 1
                self._send(b"3")
            elif kind == b"0":
                self.sid = json.loads(packet[1:])["sid"]
            elif kind == b"1":
                self.close()
                return
        if first and self.sid:
            self._send(b"40")
        if not self.closing:
            self.get.request("GET", f"{PATH}&sid={self.sid}")

    def _on_post(self, status: int, body: bytes) -> None:
        if status != 200:
            if not self.closing:
                self._fail(f"POST answered {status}: {body[:200]!r}")
            return
        if self.outbox:
            self._flush()

    def _send(self, packet: bytes) -> None:
        self.outbox.append(packet)
        if not self.post.busy:
            self._flush()

    def _flush(self) -> None:
        body = b"\x1e".join(self.outbox)
        self.outbox.clear()
        self.post.request("POST", f"{PATH}&sid={self.sid}", body)

    def emit(self, event_json: bytes) -> int:
        ack_id = self.next_id
        self.next_id += 1
        self._send(b"42" + str(ack_id).encode() + event_json)
        return ack_id

    def leave(self) -> None:
        """Send the Engine.IO close packet; the server then ends the outstanding GET."""
        self.closing = True  # no new GET once the current one is answered
        if self.sid and self.post.transport is not None:
            self._send(b"1")

    def close(self) -> None:
        """Close both connections (without ``leave`` first, the server times the session
        out, like a closed tab)."""
        self.closing = True
        self.get.close()
        self.post.close()


async def leave_all(clients: list[PollClient], timeout: float) -> None:
    """Every client leaves politely; wait (bounded) until the servers answered their GETs,
    so no long-poll is left open to delay the server's shutdown."""
    for c in clients:
        c.leave()
    deadline = time.monotonic() + timeout
    while any(c.get.busy and c.get.transport is not None for c in clients):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.02)


async def connect_polling(
    host: str, port: int, on_message: Callable[[PollClient, bytes], None], timeout: float
) -> PollClient:
    loop = asyncio.get_running_loop()
    client = PollClient(f"{host}:{port}", on_message)
    try:
        await asyncio.wait_for(loop.create_connection(lambda: client.get, host, port), timeout)
        await asyncio.wait_for(loop.create_connection(lambda: client.post, host, port), timeout)
        client.start()
        await asyncio.wait_for(asyncio.shield(client.ready), timeout)
    except BaseException:
        client.close()
        raise
    return client
