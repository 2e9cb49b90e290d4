"""A minimal, fast Socket.IO-over-websocket client for the load generator.

One ``asyncio.Protocol`` per connection speaks RFC 6455 by hand (client frames masked,
server frames parsed from one buffer), Engine.IO v4 websocket-only
(``GET /socket.io/?EIO=4&transport=websocket``, ``0{...}`` open, ``2`` ping -> ``3`` pong)
and Socket.IO v5 on the default namespace (``40`` -> ``40{"sid":..}``, ``42<id>[...]`` ->
``43<id>[...]``). Everything is callback driven: no task or future per message, so one
process can keep a server busy. Only what the benchmark needs is implemented.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from typing import cast

HANDSHAKE = (
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    "Host: {host}\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n"
)

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def encode_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """A masked client frame (the mask is random per frame, as RFC 6455 asks)."""
    n = len(payload)
    head = _head(n, opcode)
    key = os.urandom(4)
    if n:
        # XOR the whole payload at once through big integers: fast for small frames.
        mask = (key * (n // 4 + 1))[:n]
        body = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    else:
        body = b""
    return head + key + body


def _head(n: int, opcode: int) -> bytes:
    if n < 126:
        return bytes((0x80 | opcode, 0x80 | n))
    if n < 65536:
        return bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    return bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")


def encode_frame_zero_mask(payload: bytes, opcode: int = OP_BIN) -> bytes:
    """A client frame masked with the all-zero key (legal, and XOR with it is a no-op).

    Built once and sent many times for large payloads (the 64 KiB binary echo), where
    masking each copy would make the generator, not the server, the bottleneck.
    """
    return _head(len(payload), opcode) + b"\0\0\0\0" + payload


class Counter:
    """Counts received frames that start with ``prefix`` (whole Engine.IO packet, e.g.
    ``b'42["tick"'``); sets ``progress`` whenever ``count`` reaches ``threshold``."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        # the first counted frame, whole (header included): runs of identical frames are
        # then counted with one comparison per chunk (broadcasts arrive as such runs)
        self.frame = b""
        self.count = 0
        self.threshold = 1 << 62
        self.progress = asyncio.Event()


class SioClient(asyncio.Protocol):
    """One Socket.IO client on one websocket.

    ``on_message(client, payload)`` receives every Socket.IO packet after the namespace is
    connected, without the Engine.IO ``4`` (bytes, e.g. ``b'3<id>[..]'`` or
    ``b'2["tick",..]'``). ``ready`` resolves once
    the namespace is connected; ``closed`` once the connection ends.
    """

    def __init__(self, host: str, on_message: Callable[[SioClient, bytes], None]) -> None:
        self.host = host
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.frag: bytearray | None = None
        self.frag_op = OP_TEXT
        self.pings = 0  # Engine.IO pings received (heartbeats seen)
        # binary websocket frames (Socket.IO attachments) go here, not to on_message
        self.on_binary: Callable[[SioClient, bytes], None] | None = None
        self.next_id = 0
        # per-client state for scenarios (owned by the load generator)
        self.counter: Counter | None = None
        self.expect = -1
        self.sent_at = 0.0
        self.pending = -1  # binary ack id announced, attachment not yet received

    # -- transport callbacks ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(HANDSHAKE.format(host=self.host, key=key).encode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before connect: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                self._fail(f"handshake refused: {status!r}")
                return
            del buf[: end + 4]
            self.upgraded = True
        pos = 0
        n = len(buf)
        ready = self.ready.done()
        on_message = self.on_message
        bulk = True  # one failed run comparison per chunk at most (keeps this linear)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if b0 == 0x81 and length < 126 and ready:
                # fast path: a whole small unmasked text frame once connected (the hot case)
                counter = self.counter
                if bulk and counter is not None and counter.frame:
                    size = len(counter.frame)
                    k = (n - pos) // size
                    bulk = k > 1 and buf.startswith(counter.frame * k, pos)
                    if bulk:
                        # k counted deliveries in a row: no per-frame work at all
                        pos += k * size
                        counter.count += k
                        if counter.count >= counter.threshold:
                            counter.progress.set()
                        continue
                end = start + length
                if end > n:
                    break
                if counter is not None and buf.startswith(counter.prefix, start):
                    # counted broadcast delivery: no copy, no call (keeps the generator light)
                    if not counter.frame:
                        counter.frame = bytes(buf[pos:end])
                    pos = end
                    counter.count += 1
                    if counter.count >= counter.threshold:
                        counter.progress.set()
                    if self.transport is None:
                        return
                    continue
                pos = end
                if buf[start] == 0x34:  # Engine.IO "4" message
                    on_message(self, bytes(buf[start + 1 : end]))
                else:
                    self._eio(bytes(buf[start:end]))
                if self.transport is None:
                    return
                continue
            if length == 126:
                if n - start < 2:
                    break
                length = int.from_bytes(buf[start : start + 2], "big")
                start += 2
            elif length == 127:
                if n - start < 8:
                    break
                length = int.from_bytes(buf[start : start + 8], "big")
                start += 8
            if b1 & 0x80:  # servers must not mask; unmask anyway rather than choke
                if n - start < 4 + length:
                    break
                key = bytes(buf[start : start + 4])
                start += 4
                raw = bytes(buf[start : start + length])
                mask = (key * (length // 4 + 1))[:length]
                payload = bytes(a ^ b for a, b in zip(raw, mask, strict=True))
            else:
                if n - start < length:
                    break
                payload = bytes(buf[start : start + length])
            pos = start + length
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
            if self.transport is None:
                return
        if pos:
            del buf[:pos]

    # -- frames -----------------------------------------------------------------------------
    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT or opcode == OP_BIN:
            if not fin:
                self.frag = bytearray(payload)
                self.frag_op = opcode
                return
            self._data(opcode, payload)
        elif opcode == OP_CONT:
            if self.frag is None:
                self._fail("unexpected continuation frame")
                return
            self.frag += payload
            if fin:
                data, self.frag = bytes(self.frag), None
                self._data(self.frag_op, data)
        elif opcode == OP_PING:
            self._write(encode_frame(payload, OP_PONG))
        elif opcode == OP_CLOSE:
            self._write(encode_frame(payload[:2], OP_CLOSE))
            self._close()

    def _data(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            self._eio(payload)
        elif self.on_binary is not None:  # Engine.IO v4: a binary frame is a raw attachment
            self.on_binary(self, payload)

    def _eio(self, packet: bytes) -> None:
        kind = packet[:1]
        if kind == b"4":  # Engine.IO message -> Socket.IO packet
            sio = packet[1:]
            if self.ready.done():
                self.on_message(self, sio)
            elif sio[:1] == b"0":
                self.ready.set_result(None)
            elif sio[:1] == b"4":
                self._fail(f"connect refused: {sio!r}")
        elif kind == b"2":  # ping -> pong
            self.pings += 1
            self._write(encode_frame(b"3" + packet[1:]))
        elif kind == b"0":  # open -> connect the default namespace
            self._write(encode_frame(b"40"))
        elif kind == b"1":  # close
            self._close()

    # -- sending ----------------------------------------------------------------------------
    def _write(self, frame: bytes) -> None:
        if self.transport is not None:
            self.transport.write(frame)

    def write_frames(self, frames: bytes) -> None:
        """Write ready-made websocket frames."""
        self._write(frames)

    def send_sio(self, packet: bytes) -> None:
        """Send one Socket.IO packet (without the Engine.IO ``4`` prefix)."""
        self._write(encode_frame(b"4" + packet))

    def emit(self, event_json: bytes, ack: bool = True) -> int:
        """Send ``42<id><event_json>``; returns the ack id (or -1 without ack)."""
        if not ack:
            self.send_sio(b"2" + event_json)
            return -1
        ack_id = self.next_id
        self.next_id += 1
        self.send_sio(b"2" + str(ack_id).encode() + event_json)
        return ack_id

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        """Close politely (websocket close frame, then the socket)."""
        self._write(encode_frame(b"\x03\xe8", OP_CLOSE))
        self._close()


async def connect(
    host: str, port: int, on_message: Callable[[SioClient, bytes], None], timeout: float
) -> SioClient:
    """Open one connection and wait until the default namespace is connected."""
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(
        loop.create_connection(lambda: SioClient(f"{host}:{port}", on_message), host, port),
        timeout,
    )
    try:
        await asyncio.wait_for(asyncio.shield(proto.ready), timeout)
    except BaseException:
        proto._close()
        raise
    return proto


def parse_ack_id(sio: bytes) -> int:
    """``b'43<id>[...]'`` -> id, or -1 when the packet is not an ack."""
    if sio[:1] != b"3":
        return -1
    end = sio.find(b"[", 1)
    if end <= 1:
        return -1
    return int(sio[1:end])
