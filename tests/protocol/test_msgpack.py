"""The msgpack codec (socket.io-msgpack-parser wire format)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from sio_integrations.errors import LocalProtocolError, RemoteProtocolError
from sio_integrations.protocol import Packet, PacketType
from sio_integrations.protocol.msgpack import MsgpackSerializer, notepack_ext_hook

P = PacketType


@pytest.fixture
def codec() -> MsgpackSerializer:
    return MsgpackSerializer()


def unpack(frame: str | bytes) -> Any:
    assert isinstance(frame, bytes)
    return msgpack.unpackb(frame)


@pytest.mark.parametrize(
    ("packet", "obj"),
    [
        (Packet(type=P.CONNECT), {"type": 0, "nsp": "/"}),
        (
            Packet(type=P.CONNECT, namespace="/a", data={"sid": "s"}),
            {"type": 0, "data": {"sid": "s"}, "nsp": "/a"},
        ),
        (Packet(type=P.DISCONNECT, namespace="/a"), {"type": 1, "nsp": "/a"}),
        (
            Packet(type=P.EVENT, data=["m", b"\x00\xff", {"k": [bytearray(b"x")]}], id=3),
            {"type": 2, "data": ["m", b"\x00\xff", {"k": [b"x"]}], "nsp": "/", "id": 3},
        ),
        (
            Packet(type=P.ACK, namespace="/n", data=[1.5, None], id=0),
            {"type": 3, "data": [1.5, None], "nsp": "/n", "id": 0},
        ),
        (
            Packet(type=P.CONNECT_ERROR, data={"message": "no"}),
            {"type": 4, "data": {"message": "no"}, "nsp": "/"},
        ),
    ],
)
def test_each_type_encodes_as_one_map(
    codec: MsgpackSerializer, packet: Packet, obj: dict[str, Any]
) -> None:
    frames = codec.encode(packet)
    assert len(frames) == 1
    assert unpack(frames[0]) == obj
    decoded = codec.decoder().feed(frames[0])
    assert decoded is not None
    assert decoded.type == packet.type
    assert decoded.namespace == packet.namespace
    assert decoded.id == packet.id


def test_binary_packet_types_are_never_sent(codec: MsgpackSerializer) -> None:
    [frame] = codec.encode(Packet(type=P.BINARY_EVENT, data=["m", b"1"]))
    assert unpack(frame)["type"] == 2
    [frame] = codec.encode_event("/", "m", (memoryview(b"mv"),), 1)
    assert unpack(frame) == {"type": 2, "data": ["m", b"mv"], "nsp": "/", "id": 1}
    [frame] = codec.encode_ack("/x", 4, (b"z",))
    assert unpack(frame) == {"type": 3, "data": [b"z"], "nsp": "/x", "id": 4}


def test_reserved_and_bad_names_are_not_sent(codec: MsgpackSerializer) -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode_event("/", "disconnect", [])
    with pytest.raises(LocalProtocolError):
        codec.encode(Packet(type=P.EVENT, data=[1]))


def test_decoder_ignores_extra_keys_like_the_js_client_options(codec: MsgpackSerializer) -> None:
    frame = msgpack.packb(
        {"type": 2, "data": ["m", 1], "options": {"compress": True}, "nsp": "/", "id": 9}
    )
    assert codec.decoder().feed(frame) == Packet(type=P.EVENT, data=["m", 1], id=9)


def test_notepack_undefined_and_typed_arrays() -> None:
    undefined = msgpack.ExtType(0, b"\x00")
    frame = msgpack.packb(
        {"type": 0, "data": {"sid": "a", "pid": undefined}, "nsp": "/", "id": undefined}
    )
    packet = MsgpackSerializer().decoder().feed(frame)
    assert packet == Packet(type=P.CONNECT, data={"sid": "a", "pid": None})
    typed = msgpack.packb({"type": 2, "data": ["m", msgpack.ExtType(0, b"\x01\x02")], "nsp": "/"})
    assert MsgpackSerializer().decoder().feed(typed) == Packet(
        type=P.EVENT, data=["m", b"\x01\x02"]
    )
    assert notepack_ext_hook(5, b"q") == msgpack.ExtType(5, b"q")


def test_custom_ext_hook_and_default() -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    codec = MsgpackSerializer(
        default=lambda obj: msgpack.ExtType(7, bytes([obj.x])),
        ext_hook=lambda code, data: ("ext", code, data),
    )
    [frame] = codec.encode_event("/", "p", [Point(3)])
    packet = codec.decoder().feed(frame)
    assert packet is not None
    assert packet.data == ["p", ("ext", 7, b"\x03")]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("2[]", "text frame"),
        (b"\xc1", "invalid msgpack"),
        (b"\x81\xa1a", "invalid msgpack"),  # truncated
        (msgpack.packb({"type": 2, "data": ["m"], "nsp": "/"}) + b"\x00", "invalid msgpack"),
        (msgpack.packb([2, ["m"]]), "not a map"),
        (msgpack.packb({"type": 5, "data": ["m"], "nsp": "/"}), "unknown packet type"),
        (msgpack.packb({"type": True, "data": ["m"], "nsp": "/"}), "unknown packet type"),
        (msgpack.packb({"type": "2", "data": ["m"], "nsp": "/"}), "unknown packet type"),
        (msgpack.packb({"data": ["m"], "nsp": "/"}), "unknown packet type"),
        (msgpack.packb({"type": 2, "data": ["m"]}), "namespace"),
        (msgpack.packb({"type": 2, "data": ["m"], "nsp": "chat"}), "namespace"),
        (msgpack.packb({"type": 2, "data": ["m"], "nsp": 1}), "namespace"),
        (msgpack.packb({"type": 2, "data": ["m"], "nsp": "/", "id": 1.5}), "packet id"),
        (msgpack.packb({"type": 2, "data": ["m"], "nsp": "/", "id": "1"}), "packet id"),
        (msgpack.packb({"type": 2, "data": ["connect"], "nsp": "/"}), "reserved"),
        (msgpack.packb({"type": 2, "data": [1], "nsp": "/"}), "string"),
        (msgpack.packb({"type": 2, "data": [], "nsp": "/"}), "non-empty"),
        (msgpack.packb({"type": 3, "nsp": "/", "id": 1}), "array"),
        (msgpack.packb({"type": 0, "data": [1], "nsp": "/"}), "object"),
        (msgpack.packb({"type": 1, "data": {}, "nsp": "/"}), "no data"),
        (msgpack.packb({"type": 4, "nsp": "/"}), "CONNECT_ERROR"),
        (msgpack.packb({"type": 2, "data": ["m", "x" * 200], "nsp": "/"}), "too large"),
    ],
)
def test_decode_refuses_invalid_frames(frame: str | bytes, reason: str) -> None:
    decoder = MsgpackSerializer(max_binary_bytes=100).decoder()
    with pytest.raises(RemoteProtocolError, match=reason) as info:
        decoder.feed(frame)
    assert info.value.fatal
    assert decoder.pending_since is None


def test_connect_error_may_be_a_string(codec: MsgpackSerializer) -> None:
    frame = msgpack.packb({"type": 4, "data": "nope", "nsp": "/x"})
    assert codec.decoder().feed(frame) == Packet(type=P.CONNECT_ERROR, namespace="/x", data="nope")
