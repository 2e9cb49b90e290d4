"""Wire compatibility with python-socketio's packet classes (a test peer, never imported by
the package): what one encodes, the other decodes, for both serializers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from socketio import msgpack_packet, packet  # type: ignore[import-untyped]

from sio_integrations.protocol import Packet, PacketType, get_serializer

P = PacketType

CASES = [
    Packet(type=P.CONNECT),
    Packet(type=P.CONNECT, namespace="/a", data={"sid": "s", "token": "t"}),
    Packet(type=P.DISCONNECT, namespace="/a"),
    Packet(type=P.EVENT, data=["m", "é", {"n": [1, 2.5, None, True]}]),
    Packet(type=P.EVENT, namespace="/chat", data=["m"], id=17),
    Packet(type=P.EVENT, namespace="/up", data=["up", {"f": [b"\x00", {"g": b"\xff"}]}], id=2),
    Packet(type=P.ACK, namespace="/chat", data=["ok"], id=17),
    Packet(type=P.ACK, data=[b"bin", "x"], id=3),
    Packet(type=P.CONNECT_ERROR, namespace="/a", data={"message": "no", "data": [1]}),
]


def their_class(spec: str) -> Any:
    return msgpack_packet.MsgPackPacket if spec == "msgpack" else packet.Packet


def theirs_to_ours(pkt: Any) -> Packet:
    ptype = pkt.packet_type
    if ptype >= 5:
        ptype -= 3
    return Packet(type=P(ptype), namespace=pkt.namespace or "/", data=pkt.data, id=pkt.id)


@pytest.mark.parametrize("spec", ["default", "msgpack"])
@pytest.mark.parametrize("sent", CASES)
def test_ours_to_theirs(spec: str, sent: Packet) -> None:
    frames = get_serializer(spec).encode(sent)
    pkt = their_class(spec)(encoded_packet=frames[0])
    for attachment in frames[1:]:
        pkt.add_attachment(attachment)
    assert theirs_to_ours(pkt) == sent


@pytest.mark.parametrize("spec", ["default", "msgpack"])
@pytest.mark.parametrize("sent", CASES)
def test_theirs_to_ours(spec: str, sent: Packet) -> None:
    encoded = their_class(spec)(
        int(sent.type), data=sent.data, namespace=sent.namespace, id=sent.id
    ).encode()
    frames = encoded if isinstance(encoded, list) else [encoded]
    decoder = get_serializer(spec).decoder()
    results = [decoder.feed(frame) for frame in frames]
    assert results[:-1] == [None] * (len(frames) - 1)
    assert results[-1] == sent


class _Utf8Json:
    """python-socketio's json, writing non-ASCII as UTF-8 like JSON.stringify (and us)."""

    @staticmethod
    def dumps(value: Any, **kwargs: Any) -> str:
        return json.dumps(value, ensure_ascii=False, **kwargs)

    loads = staticmethod(json.loads)


class _Utf8Packet(packet.Packet):  # type: ignore[misc]
    json = _Utf8Json


@pytest.mark.parametrize("sent", CASES)
def test_default_encoding_is_identical_to_theirs(sent: Packet) -> None:
    encoded = _Utf8Packet(
        int(sent.type), data=sent.data, namespace=sent.namespace, id=sent.id
    ).encode()
    theirs = encoded if isinstance(encoded, list) else [encoded]
    assert get_serializer("default").encode(sent) == theirs
