"""RFC 6455 server-side framing (protocol/engine/wsframes.py): bytes in, messages out."""

from __future__ import annotations

import os
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sio_integrations.errors import RemoteProtocolError
from sio_integrations.protocol.engine import wsframes
from sio_integrations.protocol.engine.wsframes import (
    Close,
    FrameReader,
    Ping,
    WebSocketError,
    encode_binary,
    encode_close,
    encode_pong,
    encode_text,
)

BIG = 1 << 20
LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True,
                 rsv: int = 0, key: bytes | None = None, length: int | None = None) -> bytes:
    """A frame as a client puts it on the wire; ``length`` overrides the announced size."""
    announced = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if masked else 0
    if announced < 126:
        head += bytes([bit | announced])
    elif announced < 65536:
        head += bytes([bit | 126]) + struct.pack(">H", announced)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", announced)
    if not masked:
        return head + payload
    key = os.urandom(4) if key is None else key
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_frame(data: bytes) -> tuple[int, bool, bytes, int]:
    """Decode one unmasked server frame: (opcode, fin, payload, bytes used)."""
    b0, b1 = data[0], data[1]
    assert b1 & 0x80 == 0, "server frames are never masked"
    assert b0 & 0x70 == 0
    length, pos = b1 & 0x7F, 2
    if length == 126:
        length, pos = struct.unpack(">H", data[2:4])[0], 4
    elif length == 127:
        length, pos = struct.unpack(">Q", data[2:10])[0], 10
    return b0 & 0x0F, bool(b0 & 0x80), data[pos:pos + length], pos + length


def error_of(data: bytes, max_size: int = BIG) -> WebSocketError:
    with pytest.raises(WebSocketError) as info:
        FrameReader(max_size).feed(data)
    return info.value


def feed_chunks(reader: FrameReader, data: bytes, cuts: list[int]) -> list[object]:
    out: list[object] = []
    last = 0
    for cut in sorted(set(cuts)):
        out += reader.feed(data[last:cut])
        last = cut
    out += reader.feed(data[last:])
    return out


# -- encoders ----------------------------------------------------------------------------

@pytest.mark.parametrize("length", LENGTHS)
def test_encode_text_and_binary_lengths(length: int) -> None:
    text = "a" * length
    opcode, fin, payload, used = server_frame(encode_text(text))
    assert (opcode, fin, payload) == (1, True, text.encode())
    assert used == len(encode_text(text))
    blob = bytes(range(256)) * (length // 256) + bytes(length % 256)
    opcode, fin, payload, used = server_frame(encode_binary(blob))
    assert (opcode, fin, payload, used) == (2, True, blob, len(encode_binary(blob)))
    # the header uses the shortest length form (RFC 6455 5.2)
    header = used - length
    assert header == (2 if length < 126 else 4 if length < 65536 else 10)


def test_encode_non_ascii_text_counts_bytes() -> None:
    text = "héllo wörld ✓ \U0001f600" * 10
    opcode, _, payload, _ = server_frame(encode_text(text))
    assert opcode == 1 and payload.decode() == text and len(payload) > len(text)


def test_encode_binary_accepts_bytearray_and_memoryview() -> None:
    data = b"\x00\xff" * 100
    assert encode_binary(bytearray(data)) == encode_binary(data) == encode_binary(
        memoryview(data))


def test_encode_pong_and_close() -> None:
    assert server_frame(encode_pong(b"abc")) == (0xA, True, b"abc", 5)
    opcode, fin, payload, _ = server_frame(encode_close())
    assert (opcode, fin, payload) == (8, True, struct.pack(">H", 1000))
    opcode, _, payload, _ = server_frame(encode_close(1002, "bad"))
    assert payload == struct.pack(">H", 1002) + b"bad"
    # a close frame is a control frame: its payload never exceeds 125 bytes
    opcode, _, payload, used = server_frame(encode_close(1000, "x" * 500))
    assert opcode == 8 and len(payload) == 125 and used == 127


# -- decoding ----------------------------------------------------------------------------

@pytest.mark.parametrize("length", LENGTHS)
def test_round_trip_text_and_binary(length: int) -> None:
    text = ("é" * length)[:length]
    blob = os.urandom(length)
    data = client_frame(1, text.encode()) + client_frame(2, blob)
    assert FrameReader(BIG).feed(data) == [text, blob]


@pytest.mark.parametrize("seed", range(20))
def test_random_mask_keys(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0xD7FF)]))
                   for _ in range(rng.randrange(0, 300)))
    key = bytes(rng.randrange(256) for _ in range(4))
    assert FrameReader(BIG).feed(client_frame(1, text.encode(), key=key)) == [text]


def test_python_mask_matches_c_mask() -> None:
    for n in (0, 1, 3, 4, 5, 1000):
        data, key = os.urandom(n), os.urandom(4)
        expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
        assert wsframes._py_apply_mask(data, key) == expected
        assert wsframes.apply_mask(data, key) == expected


def test_many_messages_in_one_feed_and_pong_ignored() -> None:
    data = b"".join(client_frame(1, f"m{i}".encode()) for i in range(50))
    data += client_frame(0xA, b"unsolicited pong") + client_frame(2, b"\x01")
    assert FrameReader(BIG).feed(data) == [f"m{i}" for i in range(50)] + [b"\x01"]


def _stream() -> tuple[bytes, list[object]]:
    """A mixed stream: messages of every length form, fragments, ping, close."""
    text = "ü" * 40000
    data = (client_frame(1, b"40") + client_frame(2, os.urandom(0))
            + client_frame(1, text.encode()) + client_frame(2, b"z" * 70000)
            + client_frame(1, b"42[", fin=False) + client_frame(9, b"p1")
            + client_frame(0, b'"ev"', fin=False) + client_frame(0, b"]")
            + client_frame(8, struct.pack(">H", 1001) + b"bye"))
    return data, ["40", b"", text, b"z" * 70000, "ping:p1", '42["ev"]', "close:1001:bye"]


def _plain(items: list[object]) -> list[object]:
    out: list[object] = []
    for item in items:
        if isinstance(item, Ping):
            out.append("ping:" + item.payload.decode())
        elif isinstance(item, Close):
            out.append(f"close:{item.code}:{item.reason}")
        else:
            out.append(item)
    return out


def test_split_at_every_byte_boundary() -> None:
    data = (client_frame(1, b"hello") + client_frame(2, b"x" * 130)
            + client_frame(1, b"4", fin=False) + client_frame(9, b"pp")
            + client_frame(0, b"2", fin=True) + client_frame(8, b""))
    expected = ["hello", b"x" * 130, "ping:pp", "42", "close:1005:"]
    for cut in range(len(data) + 1):
        reader = FrameReader(BIG)
        assert _plain(reader.feed(data[:cut]) + reader.feed(data[cut:])) == expected, cut
    # one byte at a time
    reader = FrameReader(BIG)
    assert _plain(feed_chunks(reader, data, list(range(len(data))))) == expected


def test_large_frames_in_many_reads_then_small_ones() -> None:
    # a large frame is kept as its reads until whole (then joined once): the frames after
    # it, whatever their header's split, must not wait for more than they need
    sizes = [70_000, 3, 4096, 4095, 5000, 1, 65_536, 0, 126]
    messages: list[str | bytes] = [
        os.urandom(n) if i % 2 else "é" * (n // 2) + "x" * (n % 2) for i, n in enumerate(sizes)]
    frames = [client_frame(1 if isinstance(m, str) else 2,
                           m.encode() if isinstance(m, str) else m) for m in messages]
    wire = b"".join(frames)
    ends = [sum(len(f) for f in frames[:i + 1]) for i in range(len(frames))]
    for step in (1, 2, 7, 1000, 4099, 65_536, 70_010):
        reader, out = FrameReader(BIG), []
        for start in range(0, len(wire), step):
            out += reader.feed(wire[start:start + step])
            # every message is out as soon as its last byte is in
            assert len(out) == sum(end <= start + step for end in ends), (step, start)
        assert out == messages, step
    # every cut around the end of the first (large) frame
    first = len(client_frame(2, os.urandom(70_000)))
    for cut in range(first - 12, first + 12):
        reader = FrameReader(BIG)
        assert reader.feed(wire[:cut - 30_000]) == []
        assert reader.feed(wire[cut - 30_000:cut]) + reader.feed(wire[cut:]) == messages, cut


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=200000), max_size=30))
def test_random_chunks(cuts: list[int]) -> None:
    data, expected = _stream()
    cuts = [c % (len(data) + 1) for c in cuts]
    assert _plain(feed_chunks(FrameReader(BIG), data, cuts)) == expected


def test_fragmented_message_reassembled_with_control_frames_inside() -> None:
    reader = FrameReader(BIG)
    parts = [b"42[\"chat\",", "\"héllo\"".encode(), b"]"]
    assert reader.feed(client_frame(1, parts[0], fin=False)) == []
    items = reader.feed(client_frame(9, b"ping!") + client_frame(0xA, b"pong")
                        + client_frame(0, parts[1], fin=False))
    assert len(items) == 1 and isinstance(items[0], Ping) and items[0].payload == b"ping!"
    assert reader.feed(client_frame(0, parts[2])) == ['42["chat","héllo"]']
    # the reader is ready for the next message afterwards
    assert reader.feed(client_frame(2, b"a", fin=False) + client_frame(0, b"b")) == [b"ab"]


def test_utf8_split_across_fragments() -> None:
    encoded = "€".encode()  # three bytes split over two fragments
    data = client_frame(1, encoded[:1], fin=False) + client_frame(0, encoded[1:])
    assert FrameReader(BIG).feed(data) == ["€"]


def test_ping_and_empty_ping() -> None:
    items = FrameReader(BIG).feed(client_frame(9, b"x" * 125) + client_frame(9, b""))
    assert [type(i) for i in items] == [Ping, Ping]
    assert [i.payload for i in items] == [b"x" * 125, b""]  # type: ignore[union-attr]


def test_close_with_and_without_code() -> None:
    [close] = FrameReader(BIG).feed(client_frame(8, b""))
    assert isinstance(close, Close) and (close.code, close.reason) == (1005, "")
    [close] = FrameReader(BIG).feed(client_frame(8, struct.pack(">H", 1000)))
    assert isinstance(close, Close) and (close.code, close.reason) == (1000, "")
    [close] = FrameReader(BIG).feed(client_frame(8, struct.pack(">H", 4321) + "bÿe".encode()))
    assert isinstance(close, Close) and (close.code, close.reason) == (4321, "bÿe")


def test_nothing_after_a_close_frame_counts() -> None:
    reader = FrameReader(BIG)
    items = reader.feed(client_frame(1, b"a") + client_frame(8, b"") + client_frame(1, b"b")
                        + b"\x00garbage")
    assert _plain(items) == ["a", "close:1005:"]


# -- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, code", [
    (client_frame(1, b"hi", masked=False), 1002),
    (client_frame(1, b"hi", rsv=4), 1002),  # RSV1 (permessage-deflate was not negotiated)
    (client_frame(1, b"hi", rsv=2), 1002),
    (client_frame(1, b"hi", rsv=1), 1002),
    (client_frame(3, b"hi"), 1002),
    (client_frame(7, b"hi"), 1002),
    (client_frame(0xB, b"hi"), 1002),
    (client_frame(0xF, b""), 1002),
    (client_frame(9, b"p" * 126), 1002),
    (client_frame(8, struct.pack(">H", 1000) + b"r" * 124), 1002),
    (client_frame(9, b"p", fin=False), 1002),
    (client_frame(8, b"", fin=False), 1002),
    (client_frame(0, b"orphan"), 1002),
    (client_frame(0, b"orphan", fin=False), 1002),
    (client_frame(1, b"a", fin=False) + client_frame(1, b"b"), 1002),
    (client_frame(2, b"a", fin=False) + client_frame(2, b"b", fin=False), 1002),
    (client_frame(1, b"\xff\xfe"), 1007),
    (client_frame(1, "é".encode()[:1]), 1007),
    (client_frame(1, b"\xed\xa0\x80"), 1007),  # an encoded surrogate is not UTF-8
    (client_frame(1, b"\xc3", fin=False) + client_frame(0, b"\x28"), 1007),
    (client_frame(8, b"\x03"), 1002),  # a one-byte close payload
    (client_frame(8, struct.pack(">H", 999)), 1002),
    (client_frame(8, struct.pack(">H", 1004)), 1002),
    (client_frame(8, struct.pack(">H", 1005)), 1002),
    (client_frame(8, struct.pack(">H", 1006)), 1002),
    (client_frame(8, struct.pack(">H", 1015)), 1002),
    (client_frame(8, struct.pack(">H", 2999)), 1002),
    (client_frame(8, struct.pack(">H", 5000)), 1002),
    (client_frame(8, struct.pack(">H", 1000) + b"\xff"), 1007),
])
def test_errors_and_close_codes(data: bytes, code: int) -> None:
    error = error_of(data)
    assert error.code == code
    assert isinstance(error, RemoteProtocolError) and error.reason


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014, 3000, 4999])
def test_valid_close_codes(code: int) -> None:
    [close] = FrameReader(BIG).feed(client_frame(8, struct.pack(">H", code)))
    assert isinstance(close, Close) and close.code == code


@pytest.mark.parametrize("announced", [1001, 65536, 1 << 40, (1 << 63) - 1])
def test_oversized_message_refused_from_its_header(announced: int) -> None:
    # only the header (and the mask key) arrives: the payload is never awaited
    header = client_frame(2, b"", length=announced)
    error = error_of(header, max_size=1000)
    assert error.code == 1009
    assert error_of(client_frame(1, b"", length=announced)[:10], max_size=1000).code == 1009


def test_limit_is_inclusive() -> None:
    assert FrameReader(1000).feed(client_frame(1, b"a" * 1000)) == ["a" * 1000]
    assert error_of(client_frame(1, b"a" * 1001), max_size=1000).code == 1009


def test_fragmented_message_over_the_limit_refused_on_the_fragment_that_passes_it() -> None:
    reader = FrameReader(1000)
    assert reader.feed(client_frame(1, b"a" * 600, fin=False)) == []
    assert reader.feed(client_frame(0, b"a" * 300, fin=False)) == []
    # control frames do not count towards the message
    assert len(reader.feed(client_frame(9, b"p" * 125))) == 1
    with pytest.raises(WebSocketError) as info:
        reader.feed(client_frame(0, b"", length=101)[:6])  # header only
    assert info.value.code == 1009


def test_fragmented_message_exactly_at_the_limit() -> None:
    reader = FrameReader(1000)
    data = client_frame(2, b"a" * 500, fin=False) + client_frame(0, b"b" * 500)
    assert reader.feed(data) == [b"a" * 500 + b"b" * 500]
    # the count starts again for the next message
    assert reader.feed(client_frame(2, b"c" * 999, fin=False) + client_frame(0, b"d")) == [
        b"c" * 999 + b"d"]


def test_fragment_flood_of_empty_frames_stays_within_the_limit() -> None:
    reader = FrameReader(10)
    data = client_frame(1, b"", fin=False) + client_frame(0, b"", fin=False) * 1000
    assert reader.feed(data) == []
    assert reader.feed(client_frame(0, b"ok")) == ["ok"]


def test_incomplete_frame_is_kept_not_returned() -> None:
    reader = FrameReader(BIG)
    data = client_frame(1, b"x" * 70000)
    assert reader.feed(data[:1]) == []
    assert reader.feed(data[1:9]) == []  # inside the 8-byte extended length
    assert reader.feed(data[9:-1]) == []
    assert reader.feed(data[-1:]) == ["x" * 70000]


# -- anything else -----------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8), st.integers(min_value=0, max_value=200))
def test_any_bytes_parse_or_raise_websocket_error(chunks: list[bytes], limit: int) -> None:
    reader = FrameReader(limit)
    for chunk in chunks:
        try:
            items = reader.feed(chunk)
        except WebSocketError as exc:
            assert exc.code in (1002, 1007, 1009)
            return
        for item in items:
            assert isinstance(item, (str, bytes, Ping, Close))
            if isinstance(item, (str, bytes)):
                assert len(item.encode() if isinstance(item, str) else item) <= limit


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), st.binary(max_size=200)), max_size=10),
       st.randoms(use_true_random=False))
def test_any_messages_round_trip(messages: list[str | bytes], rng: random.Random) -> None:
    wire = b""
    for message in messages:
        opcode = 1 if isinstance(message, str) else 2
        raw = message.encode() if isinstance(message, str) else message
        # split each message into fragments at random points
        cuts = sorted(rng.sample(range(len(raw) + 1), min(len(raw) + 1, rng.randrange(3))))
        pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
        for i, piece in enumerate(pieces):
            wire += client_frame(opcode if i == 0 else 0, piece, fin=i == len(pieces) - 1)
    reader = FrameReader(BIG)
    cut_points = [rng.randrange(len(wire) + 1) for _ in range(5)]
    assert feed_chunks(reader, wire, cut_points) == messages


# -- the one-whole-text-frame fast path ----------------------------------------------------

def _feed_text_or_skip(reader: FrameReader, data: bytes) -> str | None:
    method = getattr(reader, "feed_text", None)
    if method is None:
        pytest.skip("FrameReader.feed_text is not in this tree")
    result: str | None = method(data)
    return result


@pytest.mark.parametrize("length", [0, 1, 125, 126, 1000, 65535])
def test_feed_text_whole_frames(length: int) -> None:
    text = ("aä" * length)[:length]
    data = client_frame(1, text.encode())
    got = _feed_text_or_skip(FrameReader(BIG), data)
    if len(text.encode()) < 65536:  # the 7- and 16-bit length forms: the common case
        assert got == text
    assert got is None or got == FrameReader(BIG).feed(data)[0]


def test_feed_text_declines_what_it_does_not_handle() -> None:
    reader = FrameReader(BIG)
    for data in (client_frame(2, b"binary"), client_frame(1, b"part", fin=False),
                 client_frame(1, b"x" * 70000), client_frame(1, b"hello")[:-1],
                 client_frame(1, b"a") + client_frame(1, b"b"), client_frame(9, b"ping"),
                 client_frame(1, b"unmasked", masked=False)):
        assert _feed_text_or_skip(reader, data) is None
    assert _feed_text_or_skip(FrameReader(10), client_frame(1, b"x" * 11)) is None
    # a half-received frame is pending: the fast path must not overtake it
    reader = FrameReader(BIG)
    reader.feed(client_frame(1, b"first")[:3])
    assert _feed_text_or_skip(reader, client_frame(1, b"second")) is None
    with pytest.raises(WebSocketError) as info:
        _feed_text_or_skip(FrameReader(BIG), client_frame(1, b"\xff"))
    assert info.value.code == 1007


def _frames_and_noise() -> st.SearchStrategy[bytes]:
    frame = st.builds(lambda text, fin, key: client_frame(1, text.encode(), fin=fin, key=key),
                      st.text(max_size=300), st.booleans(), st.binary(min_size=4, max_size=4))
    corrupted = st.builds(lambda data, i, b: data[:i % max(1, len(data))] + bytes([b])
                          + data[i % max(1, len(data)) + 1:], frame,
                          st.integers(min_value=0, max_value=400),
                          st.integers(min_value=0, max_value=255))
    return st.one_of(frame, corrupted, st.binary(max_size=300))


@settings(max_examples=400, deadline=None)
@given(_frames_and_noise(), st.integers(min_value=0, max_value=1200))
def test_feed_text_agrees_with_feed(data: bytes, limit: int) -> None:
    try:
        fast = _feed_text_or_skip(FrameReader(limit), data)
    except WebSocketError as exc:
        with pytest.raises(WebSocketError) as info:
            FrameReader(limit).feed(data)
        assert info.value.code == exc.code
        return
    if fast is not None:
        assert FrameReader(limit).feed(data) == [fast]
