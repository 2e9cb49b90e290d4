from __future__ import annotations

import pytest

from sio_integrations.errors import RemoteProtocolError
from sio_integrations.protocol.engine.packets import (
    Packet,
    PacketType,
    base64_frame,
    decode_frame,
    decode_payload,
    encode_frame,
    encode_payload,
    message_frame,
    split_payload,
)


@pytest.mark.parametrize(
    ("packet", "frame"),
    [
        (Packet(type=PacketType.OPEN, data='{"sid":"x"}'), '0{"sid":"x"}'),
        (Packet(type=PacketType.CLOSE), "1"),
        (Packet(type=PacketType.PING, data="probe"), "2probe"),
        (Packet(type=PacketType.PONG), "3"),
        (Packet(type=PacketType.MESSAGE, data="hello"), "4hello"),
        (Packet(type=PacketType.UPGRADE), "5"),
        (Packet(type=PacketType.NOOP), "6"),
        (Packet(type=PacketType.MESSAGE, data=b"\x01\x02"), b"\x01\x02"),
    ],
)
def test_frames_round_trip(packet: Packet, frame: str | bytes) -> None:
    assert encode_frame(packet) == frame
    assert decode_frame(frame) == packet


def test_binary_only_for_messages() -> None:
    with pytest.raises(ValueError):
        encode_frame(Packet(type=PacketType.PING, data=b"x"))


def test_base64_text_frames() -> None:
    assert decode_frame("bAQIDBA==") == Packet(type=PacketType.MESSAGE, data=b"\x01\x02\x03\x04")
    assert base64_frame(b"\x01\x02\x03\x04") == "bAQIDBA=="
    with pytest.raises(RemoteProtocolError):
        decode_frame("b!!")


@pytest.mark.parametrize("frame", ["", "7", "x", "abc", "-1"])
def test_bad_frames(frame: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_frame(frame)


def test_message_frame() -> None:
    assert message_frame("hi") == "4hi"
    assert message_frame(b"\x00") == b"\x00"
    assert message_frame(bytearray(b"ab")) == b"ab"
    with pytest.raises(TypeError):
        message_frame(42)  # type: ignore[arg-type]


def test_payload_encoding() -> None:
    assert encode_payload(["4hello", b"\x01\x02\x03\x04", "2"]) == "4hello\x1ebAQIDBA==\x1e2"
    assert encode_payload(["6"]) == "6"


def test_payload_decoding() -> None:
    assert decode_payload("4hello\x1ebAQIDBA==\x1e3") == [
        Packet(type=PacketType.MESSAGE, data="hello"),
        Packet(type=PacketType.MESSAGE, data=b"\x01\x02\x03\x04"),
        Packet(type=PacketType.PONG),
    ]
    assert decode_payload("4") == [Packet(type=PacketType.MESSAGE, data="")]


@pytest.mark.parametrize("body", ["", "abc", "4a\x1e", "b!!!", "4a\x1e9"])
def test_bad_payloads(body: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_payload(body)


def test_payload_packet_limit() -> None:
    assert len(decode_payload("\x1e".join(["4x"] * 3), max_packets=3)) == 3
    with pytest.raises(RemoteProtocolError, match="more than 3"):
        decode_payload("\x1e".join(["4x"] * 4), max_packets=3)


def test_split_payload_keeps_records_and_checks_limits() -> None:
    assert split_payload("4a\x1e3\x1e4") == ["4a", "3", "4"]
    assert split_payload("\x1e".join(["4x"] * 3), max_packets=3) == ["4x"] * 3
    with pytest.raises(RemoteProtocolError, match="more than 3"):
        split_payload("\x1e".join(["4x"] * 4), max_packets=3)
    with pytest.raises(RemoteProtocolError, match="empty payload"):
        split_payload("")
