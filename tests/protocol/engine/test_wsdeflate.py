"""permessage-deflate (protocol/engine/wsdeflate.py, and FrameReader with an Inflater):
against zlib, and against the ``websockets`` library's own PerMessageDeflate as the client."""

from __future__ import annotations

import json
import os
import random
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from sio_integrations.protocol.engine.wsdeflate import (
    DEFAULT_THRESHOLD,
    DeflateParams,
    Deflater,
    Inflater,
    negotiate,
)
from sio_integrations.protocol.engine.wsframes import (
    FrameReader,
    Ping,
    WebSocketError,
    encode_binary,
    encode_text,
)

from .test_wsframes import client_frame

TAIL = b"\x00\x00\xff\xff"
LIMIT = 100_000


def deflate(data: bytes, wbits: int = 15) -> bytes:
    """One message compressed as RFC 7692 puts it on the wire (context-free)."""
    zobj = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = zobj.compress(data) + zobj.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def chat(n: int) -> str:
    """A JSON message of ``n`` chat lines (compresses well, like real traffic)."""
    return json.dumps(["news", [{"user": f"u{i}", "text": f"message number {i} here"}
                                for i in range(n)]])


def split_frame(data: bytes) -> tuple[int, bool, bytes, int]:
    """One unmasked server frame: (first byte, rsv1, payload, bytes used)."""
    b0, b1 = data[0], data[1]
    assert not b1 & 0x80
    assert not b0 & 0x30, "RSV2/RSV3 are never set"
    length, pos = b1 & 0x7F, 2
    if length == 126:
        length, pos = struct.unpack(">H", data[2:4])[0], 4
    elif length == 127:
        length, pos = struct.unpack(">Q", data[2:10])[0], 10
    return b0, bool(b0 & 0x40), data[pos:pos + length], pos + length


# -- negotiation --------------------------------------------------------------------------

@pytest.mark.parametrize("offer, params, header", [
    ("permessage-deflate",
     DeflateParams(server_no_context_takeover=True),
     "permessage-deflate; server_no_context_takeover"),
    # what browsers and node's ws offer: we pick the client's window
    ("permessage-deflate; client_max_window_bits",
     DeflateParams(server_no_context_takeover=True, client_max_window_bits=12),
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
    ("permessage-deflate; client_max_window_bits=10",
     DeflateParams(server_no_context_takeover=True, client_max_window_bits=10),
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
    ("permessage-deflate; client_no_context_takeover; server_max_window_bits=11",
     DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True,
                   server_max_window_bits=11),
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=11"),
    # the server's window is always answered when offered, even at its maximum
    ('PerMessage-Deflate; server_max_window_bits="15"; server_no_context_takeover',
     DeflateParams(server_no_context_takeover=True),
     "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"),
    # an invalid first offer: the next one is taken
    ("permessage-deflate; server_max_window_bits=16, permessage-deflate; "
     "client_max_window_bits",
     DeflateParams(server_no_context_takeover=True, client_max_window_bits=12),
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"),
    ("x-webkit-deflate-frame, permessage-deflate",
     DeflateParams(server_no_context_takeover=True),
     "permessage-deflate; server_no_context_takeover"),
])
def test_negotiate_accepts(offer: str, params: DeflateParams, header: str) -> None:
    assert negotiate(offer) == (params, header)


@pytest.mark.parametrize("offer", [
    None, "", "   ", "x-webkit-deflate-frame", "permessage-deflate; unknown=1",
    "permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16", "permessage-deflate; client_max_window_bits=x",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
])
def test_negotiate_declines(offer: str | None) -> None:
    assert negotiate(offer) is None


def test_negotiated_header_is_accepted_by_websockets_client() -> None:
    """websockets' client checks the answer against its offer (e.g. fails when its
    client_no_context_takeover is not echoed)."""
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.headers import build_extension, parse_extension

    for kwargs in ({}, {"client_no_context_takeover": True}, {"server_max_window_bits": 10},
                   {"client_max_window_bits": 9}, {"server_no_context_takeover": True},
                   {"client_max_window_bits": True}):
        factory = ClientPerMessageDeflateFactory(**kwargs)  # type: ignore[arg-type]
        offer = build_extension([(factory.name, factory.get_request_params())])
        accepted = negotiate(offer)
        assert accepted is not None, offer
        params, header = accepted
        [(name, response)] = parse_extension(header)
        ext = factory.process_response_params(response, [])
        assert ext.local_max_window_bits == params.client_max_window_bits
        assert ext.remote_max_window_bits == params.server_max_window_bits
        assert ext.local_no_context_takeover == params.client_no_context_takeover
        assert ext.remote_no_context_takeover


# -- Inflater against zlib ------------------------------------------------------------------

def test_inflate_one_message() -> None:
    data = chat(50).encode()
    assert Inflater().inflate(deflate(data), LIMIT) == data


def test_inflate_with_context_takeover_across_messages() -> None:
    """A client keeping its context refers back to earlier messages: one zlib object per
    connection follows it."""
    zobj = zlib.compressobj(6, zlib.DEFLATED, -12)
    inflater = Inflater(12)
    message = chat(20).encode()
    sizes = []
    for _ in range(3):
        wire = zobj.compress(message) + zobj.flush(zlib.Z_SYNC_FLUSH)
        sizes.append(len(wire))
        assert inflater.inflate(wire[:-4], LIMIT) == message
    assert sizes[1] < sizes[0] / 3, "the second message did not use the context"


def test_inflate_without_context_takeover_starts_afresh() -> None:
    inflater = Inflater(15, no_context_takeover=True)
    for n in (1, 30, 5):
        data = chat(n).encode()
        assert inflater.inflate(deflate(data), LIMIT) == data
    # garbage in one message does not poison the next (nothing is carried over)
    with pytest.raises(zlib.error):
        inflater.inflate(b"\xff\xff\xff\xff", LIMIT)
    assert inflater.inflate(deflate(b"fine"), LIMIT) == b"fine"


def test_inflate_a_final_block() -> None:
    """A sender may end a message with a final block (BFINAL) instead of a sync flush:
    the next message then starts a new stream."""
    inflater = Inflater()
    for text in (b"first", b"second " * 100, b"third"):
        final = zlib.compress(text, 6, -15)  # ends with BFINAL set
        assert inflater.inflate(final, LIMIT) == text
    with pytest.raises(zlib.error):
        inflater.inflate(zlib.compress(b"a", 6, -15) + b"\x01\x02", LIMIT)


def test_inflate_limit_is_exact_and_stops_a_zip_bomb() -> None:
    exact = b"a" * LIMIT
    assert Inflater().inflate(deflate(exact), LIMIT) == exact
    assert Inflater().inflate(deflate(exact + b"a"), LIMIT) is None
    bomb = deflate(b"\0" * 50_000_000)  # about 50 KB on the wire
    assert len(bomb) < 60_000
    assert Inflater().inflate(bomb, LIMIT) is None


def test_inflate_invalid_data_raises() -> None:
    with pytest.raises(zlib.error):
        Inflater().inflate(b"\x07garbage", LIMIT)


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_inflate_honours_small_windows(bits: int) -> None:
    wbits = max(bits, 9)  # zlib compresses raw deflate with 9 bits at least
    block = os.urandom(400).hex().encode()  # repeats 800 bytes back
    data = block * 4
    assert Inflater(bits).inflate(deflate(data, wbits), LIMIT) == data


# -- Deflater ---------------------------------------------------------------------------------

def inflate_frame(wire: bytes, wbits: int = 15) -> tuple[int, bool, bytes]:
    first, rsv1, payload, used = split_frame(wire)
    assert used == len(wire)
    if rsv1:
        payload = zlib.decompressobj(-wbits).decompress(payload + TAIL)
    return first & 0x0F, rsv1, payload


def test_small_messages_go_out_plain() -> None:
    deflater = Deflater()
    for message in ("", "4x", "a" * (DEFAULT_THRESHOLD - 1)):
        assert deflater.frame(message) == encode_text(message)
    assert deflater.frame(b"\x04abc") == encode_binary(b"\x04abc")


@pytest.mark.parametrize("wbits", [9, 12, 15])
def test_large_text_is_compressed_within_the_window(wbits: int) -> None:
    message = "é" + chat(100)
    opcode, rsv1, payload = inflate_frame(Deflater(wbits).frame(message), wbits)
    assert (opcode, rsv1, payload.decode()) == (1, True, message)
    assert len(Deflater(wbits).frame(message)) < len(message) / 3


def test_the_window_bounds_the_back_references() -> None:
    """zlib would inflate a too-distant reference that is still in its output, so the
    size is what shows the window: repeats 1,600 bytes apart fit in 15 bits, not 10."""
    block = os.urandom(800).hex()
    narrow = Deflater(10).frame(block * 3)
    wide = Deflater(15).frame(block * 3)
    assert len(narrow) > 2 * len(wide)
    assert inflate_frame(narrow, 10)[2].decode() == block * 3


def test_a_window_of_8_bits_is_never_compressed() -> None:
    """zlib cannot compress raw deflate with 8 bits: such a peer gets plain frames."""
    message = chat(100)
    assert Deflater(8).frame(message) == encode_text(message)


def test_binary_is_compressed_only_when_it_compresses() -> None:
    deflater = Deflater()
    compressible = b"\x00\x01" * 5000
    opcode, rsv1, payload = inflate_frame(deflater.frame(compressible))
    assert (opcode, rsv1, payload) == (2, True, compressible)
    noise = os.urandom(5000)
    assert deflater.frame(noise) == encode_binary(noise)
    # compressible after a noisy start is still sent plain (a cheap guess, and valid)
    mixed = os.urandom(2000) + b"\x00" * 8000
    assert inflate_frame(deflater.frame(mixed))[2] == mixed


def test_incompressible_text_goes_out_plain() -> None:
    text = os.urandom(3000).hex()[:2000]  # hex compresses a little
    opcode, _, payload = inflate_frame(Deflater().frame(text))
    assert (opcode, payload.decode()) == (1, text)
    rnd = random.Random(7)
    noise = "".join(chr(rnd.randrange(0x4E00, 0x9FFF)) for _ in range(1500))
    assert inflate_frame(Deflater().frame(noise))[2].decode() == noise


def test_a_broadcast_is_compressed_once() -> None:
    deflater = Deflater()
    message = chat(100)
    first = deflater.frame(message)
    assert deflater.frame(message) is first  # the same object: no second compression
    assert deflater.frame(chat(100)) == first  # an equal string is framed again


def test_frames_decode_in_a_peer_that_keeps_its_context() -> None:
    """We never use a context; a client keeping one (the default) still reads every frame,
    plain ones in between included."""
    deflater = Deflater(12)
    zobj = zlib.decompressobj(-12)
    for message in (chat(100), "small", chat(50) + "x", chat(100) + "y"):
        first, rsv1, payload, _ = split_frame(deflater.frame(message))
        text = zobj.decompress(payload + TAIL) if rsv1 else payload
        assert text.decode() == message


# -- FrameReader with an Inflater -------------------------------------------------------------

class CountingInflater(Inflater):
    __slots__ = ("calls",)

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def inflate(self, payload: bytes, limit: int) -> bytes | None:
        self.calls += 1
        return super().inflate(payload, limit)


def test_uncompressed_messages_cost_no_zlib_call() -> None:
    inflater = CountingInflater()
    reader = FrameReader(LIMIT, inflater)
    frame = client_frame(1, b'42["echo","plain"]')
    assert reader.feed_text(frame) == '42["echo","plain"]'
    assert reader.feed(frame + client_frame(2, b"\x01\x02")) == ['42["echo","plain"]',
                                                                 b"\x01\x02"]
    assert inflater.calls == 0
    assert reader.feed(client_frame(1, deflate(b"zipped"), rsv=4)) == ["zipped"]
    assert inflater.calls == 1


def test_one_whole_compressed_text_frame_takes_the_fast_path() -> None:
    reader = FrameReader(LIMIT, Inflater())
    assert reader.feed_text(client_frame(1, deflate(b'42["hi"]'), rsv=4)) == '42["hi"]'
    text = chat(100)
    assert reader.feed_text(client_frame(1, deflate(text.encode()), rsv=4)) == text
    with pytest.raises(WebSocketError) as err:
        reader.feed_text(client_frame(1, deflate(b"[" * (LIMIT + 1)), rsv=4))
    assert err.value.code == 1009
    # a compressed frame is not a text frame for a reader without the extension
    assert FrameReader(LIMIT).feed_text(client_frame(1, deflate(b"x"), rsv=4)) is None


def test_compressed_text_and_binary() -> None:
    reader = FrameReader(LIMIT, Inflater())
    text = chat(40)
    items = reader.feed(client_frame(1, deflate(text.encode()), rsv=4)
                        + client_frame(9, b"p")
                        + client_frame(2, deflate(b"\x00" * 3000), rsv=4))
    assert items[0] == text
    assert isinstance(items[1], Ping)
    assert items[2] == b"\x00" * 3000


def test_fragmented_compressed_message() -> None:
    reader = FrameReader(LIMIT, Inflater())
    text = chat(60).encode()
    wire = deflate(text)
    a, b, c = wire[:10], wire[10:40], wire[40:]
    data = (client_frame(1, a, fin=False, rsv=4) + client_frame(0, b, fin=False)
            + client_frame(9, b"in between") + client_frame(0, c))
    items = reader.feed(data[:17]) + reader.feed(data[17:])
    assert isinstance(items[0], Ping)
    assert items[1:] == [text.decode()]
    # then an uncompressed fragmented message: not inflated
    assert reader.feed(client_frame(1, b"ab", fin=False) + client_frame(0, b"cd")) == ["abcd"]


@pytest.mark.parametrize("frames, code", [
    # RSV1 on a continuation frame
    (lambda: client_frame(1, b"a", fin=False) + client_frame(0, b"b", rsv=4), 1002),
    (lambda: client_frame(1, deflate(b"ab"), fin=False, rsv=4) + client_frame(0, b"", rsv=4),
     1002),
    # RSV1 on control frames
    (lambda: client_frame(9, b"", rsv=4), 1002),
    (lambda: client_frame(8, b"\x03\xe8", rsv=4), 1002),
    # RSV2, RSV3
    (lambda: client_frame(1, b"x", rsv=2), 1002),
    (lambda: client_frame(1, b"x", rsv=1), 1002),
    # not deflate data
    (lambda: client_frame(1, b"\x07garbage", rsv=4), 1007),
    # a zip bomb (inflates past the limit), whole or fragmented
    (lambda: client_frame(1, deflate(b"[" * (LIMIT + 1)), rsv=4), 1009),
    (lambda: client_frame(2, deflate(b"\0" * 20_000_000)[:5000], fin=False, rsv=4)
     + client_frame(0, deflate(b"\0" * 20_000_000)[5000:]), 1009),
    # valid deflate but not UTF-8 text
    (lambda: client_frame(1, deflate(b"\xff\xfe"), rsv=4), 1007),
])
def test_misuse_is_refused(frames: Any, code: int) -> None:
    """With permessage-deflate negotiated."""
    with pytest.raises(WebSocketError) as err:
        FrameReader(LIMIT, Inflater()).feed(frames())
    assert err.value.code == code


def test_rsv1_without_the_extension_is_a_protocol_error() -> None:
    with pytest.raises(WebSocketError) as err:
        FrameReader(LIMIT).feed(client_frame(1, deflate(b"x"), rsv=4))
    assert err.value.code == 1002
    # and the fast path does not take it for a text frame either
    assert FrameReader(LIMIT).feed_text(client_frame(1, deflate(b"x"), rsv=4)) is None


# -- against websockets' PerMessageDeflate (a client we did not write) -------------------------

def ws_pair(*, client_nct: bool = False, server_nct: bool = True, client_bits: int = 12,
            server_bits: int = 15) -> tuple[PerMessageDeflate, DeflateParams]:
    client = PerMessageDeflate(remote_no_context_takeover=server_nct,
                               local_no_context_takeover=client_nct,
                               remote_max_window_bits=server_bits,
                               local_max_window_bits=client_bits)
    params = DeflateParams(server_no_context_takeover=server_nct,
                           client_no_context_takeover=client_nct,
                           server_max_window_bits=server_bits,
                           client_max_window_bits=client_bits)
    return client, params


def ws_client_frames(ext: PerMessageDeflate, message: str | bytes, *,
                     fragments: int = 1) -> bytes:
    """What a websockets client with ``ext`` puts on the wire for ``message``."""
    opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
    data = message.encode() if isinstance(message, str) else message
    step = max(1, -(-len(data) // fragments))
    chunks = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
    out = b""
    for i, chunk in enumerate(chunks):
        frame = Frame(opcode if i == 0 else Opcode.CONT, chunk, fin=i == len(chunks) - 1)
        out += frame.serialize(mask=True, extensions=[ext])
    return out


def ws_client_read(ext: PerMessageDeflate, wire: bytes, count: int) -> Iterator[Frame]:
    """Our ``count`` server frames as a websockets client with ``ext`` reads them."""
    reader = StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    for _ in range(count):
        parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[ext])
        try:
            next(parser)
        except StopIteration as stop:
            yield stop.value
        else:
            raise AssertionError("incomplete frame")


@pytest.mark.parametrize("setup", [
    {}, {"client_nct": True}, {"server_bits": 10}, {"client_bits": 9},
    {"server_nct": False, "client_bits": 15},
])
def test_websockets_client_to_our_reader(setup: dict[str, Any]) -> None:
    ext, params = ws_pair(**setup)
    reader = FrameReader(LIMIT, Inflater(params.client_max_window_bits,
                                         params.client_no_context_takeover))
    messages: list[str | bytes] = ["40", chat(80), chat(80), "é" * 999, b"\x00" * 4000,
                                   chat(30)]
    wire = b"".join(ws_client_frames(ext, m, fragments=1 + i % 3)
                    for i, m in enumerate(messages))
    got: list[Any] = []
    for i in range(0, len(wire), 777):  # arbitrary TCP reads
        got += reader.feed(wire[i:i + 777])
    assert got == messages


@pytest.mark.parametrize("setup", [
    {}, {"server_bits": 9}, {"server_bits": 10}, {"server_nct": False},
])
def test_our_frames_to_websockets_client(setup: dict[str, Any]) -> None:
    """The websockets client decodes with the window we negotiated; far references
    (repeats 1,600 bytes apart) would fail in a small window if we ignored it."""
    ext, params = ws_pair(**setup)
    deflater = Deflater(params.server_max_window_bits)
    block = os.urandom(800).hex()
    messages: list[str | bytes] = ["small", block * 3, chat(100), b"\x01" * 3000,
                                   (block * 3).encode(), "4" + chat(3)]
    wire = b"".join(deflater.frame(m) for m in messages)
    frames = list(ws_client_read(ext, wire, len(messages)))
    assert [f.data.decode() if f.opcode == Opcode.TEXT else f.data for f in frames] == messages
    # the small ones went out plain, the large compressible ones compressed
    firsts = [split_frame(deflater.frame(m))[1] for m in messages]
    assert firsts == [False, True, True, True, True, False]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=3000), st.binary(max_size=3000),
                          st.sampled_from([chat(10), chat(60)])), max_size=6),
       st.integers(1, 3), st.booleans())
def test_round_trips_with_websockets(messages: list[str | bytes], fragments: int,
                                     client_nct: bool) -> None:
    ext, params = ws_pair(client_nct=client_nct)
    reader = FrameReader(LIMIT, Inflater(params.client_max_window_bits, client_nct))
    wire = b"".join(ws_client_frames(ext, m, fragments=fragments) for m in messages)
    assert reader.feed(wire) == messages
    back = b"".join(Deflater(params.server_max_window_bits).frame(m) for m in messages)
    decoded = [f.data.decode() if f.opcode == Opcode.TEXT else bytes(f.data)
               for f in ws_client_read(ext, back, len(messages))]
    assert decoded == messages
