"""The backlog of the threading direct websocket (runtime/wsgi_direct.py + wsgi_flusher.py)
on a real TCP connection with tiny socket buffers: what the kernel does not take at once is
written by the flusher thread, in order, with no frame left behind (no lost wake-up
between a writer and the flusher), up to our close frame, which comes last."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sio_integrations.runtime.wsgi_direct import SyncDirectWebSocket
from sio_integrations.runtime.wsgi_flusher import flusher

from .live import wait_until

pytestmark = pytest.mark.timeout(120)


@contextmanager
def tcp_pair(buffer: int = 4096) -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of a loopback connection with small kernel buffers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    client.settimeout(30)
    try:
        yield server, client
    finally:
        server.close()
        client.close()


class FrameReader:
    """Server frames (unmasked) read from the client side, a little at a time."""

    def __init__(self, sock: socket.socket, chunk: int = 997) -> None:
        self.sock = sock
        self.chunk = chunk
        self.data = b""

    def _need(self, n: int) -> bytes:
        while len(self.data) < n:
            more = self.sock.recv(self.chunk)
            assert more, "the connection ended early"
            self.data += more
        out, self.data = self.data[:n], self.data[n:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self._need(2)
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._need(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._need(8))
        return b0 & 0x0F, self._need(length)

    def text(self) -> str:
        opcode, payload = self.frame()
        assert opcode == 1, opcode
        return payload.decode()


def test_a_frame_written_behind_a_backlog_reaches_the_peer() -> None:
    """The case of a "3probe" written while earlier frames still wait in the backlog."""
    with tcp_pair() as (server, client):
        ws = SyncDirectWebSocket(server, 1 << 20)
        write = ws.direct_writer(1 << 30)
        sent: list[str] = []
        for i in range(10_000):  # until the kernel stops taking them
            sent.append(f"4{i}:" + "x" * 1000)
            assert write(sent[-1])
            if ws._backlog:
                break
        assert ws._backlog, "the socket never filled up"
        sent.append("3probe")
        assert write("3probe")
        reader = FrameReader(client)
        assert [reader.text() for _ in sent] == sent
        wait_until(lambda: not ws._backlog and ws not in flusher()._watched, 10,
                   "the flusher to let go of the connection")


def test_many_writers_and_a_slow_reader_lose_nothing() -> None:
    """Writers racing the flusher over and over (each backlog starts, drains and starts
    again many times): every frame arrives, in each writer's order, then our close frame."""
    writers, count = 4, 400
    sizes = (3, 200, 5000, 70_000)
    with tcp_pair() as (server, client):
        ws = SyncDirectWebSocket(server, 1 << 20)
        write = ws.direct_writer(1 << 30)
        go = threading.Event()
        failed: list[int] = []

        def writer(w: int) -> None:
            go.wait(10)
            for i in range(count):
                if not write(f"{w}:{i}:" + "y" * sizes[(w + i) % len(sizes)]):
                    failed.append(i)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        go.set()
        reader = FrameReader(client)
        seen: dict[int, list[int]] = {w: [] for w in range(writers)}
        for _ in range(writers * count):
            w, i, pad = reader.text().split(":")
            assert pad == "y" * sizes[(int(w) + int(i)) % len(sizes)]
            seen[int(w)].append(int(i))
        for thread in threads:
            thread.join(30)
        assert not failed
        assert seen == {w: list(range(count)) for w in range(writers)}
        ws.close_now(1000)
        assert reader.frame() == (8, struct.pack(">H", 1000))


def test_close_frame_queued_behind_a_backlog_comes_last() -> None:
    with tcp_pair() as (server, client):
        ws = SyncDirectWebSocket(server, 1 << 20)
        write = ws.direct_writer(1 << 30)
        sent: list[str] = []
        while not ws._backlog and len(sent) < 10_000:
            sent.append("4" + "z" * 3000)
            write(sent[-1])
        assert ws._backlog
        ws.close_now(1001)
        assert write("4after the close")  # dropped: nothing follows our close frame
        reader = FrameReader(client)
        assert [reader.text() for _ in sent] == sent
        assert reader.frame() == (8, struct.pack(">H", 1001))
        client.settimeout(0.2)
        try:
            rest = client.recv(1)  # nothing after the close frame: a timeout, or the end
        except TimeoutError:
            rest = b""
        assert rest == b""
