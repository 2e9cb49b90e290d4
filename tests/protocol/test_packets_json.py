"""The default codec: strings and bytes in, packets out, and back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sio_integrations.errors import ConfigurationError, LocalProtocolError, RemoteProtocolError
from sio_integrations.protocol import (
    JsonSerializer,
    Packet,
    PacketType,
    get_serializer,
)
from sio_integrations.protocol.msgpack import MsgpackSerializer

P = PacketType


def decode_all(serializer: JsonSerializer, frames: list[str | bytes]) -> Packet:
    decoder = serializer.decoder()
    results = [decoder.feed(frame) for frame in frames]
    assert all(r is None for r in results[:-1])
    assert results[-1] is not None
    return results[-1]


@pytest.fixture(params=["speedups", "standard"])
def codec(request: pytest.FixtureRequest) -> JsonSerializer:
    """Every test runs with orjson encoding (when installed) and without."""
    return JsonSerializer(speedups=request.param == "speedups")


# -- encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packet", "wire"),
    [
        (Packet(type=P.CONNECT), "0"),
        (Packet(type=P.CONNECT, data={"token": "abc"}), '0{"token":"abc"}'),
        (Packet(type=P.CONNECT, namespace="/admin", data={"sid": "x"}), '0/admin,{"sid":"x"}'),
        (Packet(type=P.DISCONNECT), "1"),
        (Packet(type=P.DISCONNECT, namespace="/admin"), "1/admin,"),
        (Packet(type=P.EVENT, data=["hello", 1, None]), '2["hello",1,null]'),
        (Packet(type=P.EVENT, namespace="/chat", data=["a"], id=12), '2/chat,12["a"]'),
        (Packet(type=P.EVENT, data=["a", {"x": [1, 2]}], id=0), '20["a",{"x":[1,2]}]'),
        (Packet(type=P.ACK, data=[], id=3), "33[]"),
        (Packet(type=P.ACK, namespace="/n", data=["ok", 2], id=456), '3/n,456["ok",2]'),
        (
            Packet(type=P.CONNECT_ERROR, data={"message": "Not authorized"}),
            '4{"message":"Not authorized"}',
        ),
        (Packet(type=P.CONNECT_ERROR, namespace="/x", data="old style"), '4/x,"old style"'),
        (Packet(type=P.EVENT, data=["é", "日本"]), '2["é","日本"]'),
    ],
)
def test_encode_and_decode_each_type(codec: JsonSerializer, packet: Packet, wire: str) -> None:
    assert codec.encode(packet) == [wire]
    assert codec.decoder().feed(wire) == packet


def test_fast_paths_match_generic_encode(codec: JsonSerializer) -> None:
    assert codec.encode_event("/", "m", ("a", 1)) == ['2["m","a",1]']
    assert codec.encode_event("/", "m", [], 7) == ['27["m"]']
    assert codec.encode_event("/chat", "m", ["x"], 7) == ['2/chat,7["m","x"]']
    assert codec.encode_event("/chat", "m", ["x"]) == ['2/chat,["m","x"]']
    assert codec.encode_ack("/", 9, ("ok",)) == ['39["ok"]']
    assert codec.encode_ack("/chat", 9, []) == ["3/chat,9[]"]
    generic = codec.encode(Packet(type=P.EVENT, namespace="/chat", data=["m", b"\x01"], id=4))
    assert codec.encode_event("/chat", "m", [b"\x01"], 4) == generic


def test_encode_is_compact_json_like_json_stringify(codec: JsonSerializer) -> None:
    [frame] = codec.encode_event("/", "m", ({"a": [1, 2.5, True, None], "b": "x y"},))
    assert frame == '2["m",{"a":[1,2.5,true,null],"b":"x y"}]'


def test_binary_placeholders_nested(codec: JsonSerializer) -> None:
    data = [
        "upload",
        {"files": [{"name": "a", "body": b"\x00\x01"}, {"name": "b", "body": bytearray(b"zz")}]},
        [memoryview(b"mv"), {"deep": {"deeper": [b"last"]}}],
    ]
    frames = codec.encode(Packet(type=P.EVENT, namespace="/up", data=data, id=5))
    assert isinstance(frames[0], str)
    assert frames[0].startswith("54-/up,5[")
    assert frames[1:] == [b"\x00\x01", b"zz", b"mv", b"last"]
    body = json.loads(frames[0][len("54-/up,5") :])
    assert body[1]["files"][1]["body"] == {"_placeholder": True, "num": 1}
    assert body[2][1]["deep"]["deeper"][0] == {"_placeholder": True, "num": 3}
    decoded = decode_all(codec, frames)
    assert decoded.type is P.EVENT
    assert decoded.id == 5
    assert decoded.namespace == "/up"
    assert decoded.data == [
        "upload",
        {"files": [{"name": "a", "body": b"\x00\x01"}, {"name": "b", "body": b"zz"}]},
        [b"mv", {"deep": {"deeper": [b"last"]}}],
    ]


def test_binary_ack_and_binary_types_accepted_on_encode(codec: JsonSerializer) -> None:
    frames = codec.encode_ack("/", 2, [b"abc", "text"])
    assert frames == ['61-2[{"_placeholder":true,"num":0},"text"]', b"abc"]
    assert decode_all(codec, frames) == Packet(type=P.ACK, data=[b"abc", "text"], id=2)
    explicit = codec.encode(Packet(type=P.BINARY_EVENT, data=["e", b"q"]))
    assert explicit == ['51-["e",{"_placeholder":true,"num":0}]', b"q"]
    # a BINARY_* packet without binary data goes out as the plain type, like the JS encoder
    assert codec.encode(Packet(type=P.BINARY_ACK, data=["x"], id=1)) == ['31["x"]']


def test_tuples_encode_as_arrays(codec: JsonSerializer) -> None:
    assert codec.encode_event("/", "t", ((1, (2, b"b")),)) == [
        '51-["t",[1,[2,{"_placeholder":true,"num":0}]]]',
        b"b",
    ]


def test_lone_surrogate_is_escaped_so_the_frame_is_utf8(codec: JsonSerializer) -> None:
    [frame] = codec.encode_event("/", "m", ["\ud800", "é"])
    assert isinstance(frame, str)
    frame.encode("utf-8")
    assert codec.decoder().feed(frame) == Packet(type=P.EVENT, data=["m", "\ud800", "é"])


@pytest.mark.parametrize(
    "name",
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"],
)
def test_reserved_names_are_never_sent(codec: JsonSerializer, name: str) -> None:
    with pytest.raises(LocalProtocolError, match="reserved"):
        codec.encode_event("/", name, [])
    with pytest.raises(LocalProtocolError, match="reserved"):
        codec.encode(Packet(type=P.EVENT, data=[name]))


@pytest.mark.parametrize(
    ("packet", "match"),
    [
        (Packet(type=P.EVENT, data=[]), "non-empty"),
        (Packet(type=P.EVENT, data=[1]), "string"),
        (Packet(type=P.EVENT, data="x"), "non-empty"),
        (Packet(type=P.ACK, data=[]), "id"),
        (Packet(type=P.ACK, data={}, id=1), "array"),
        (Packet(type=P.CONNECT, data=[1]), "object"),
        (Packet(type=P.CONNECT_ERROR), "object or a string"),
        (Packet(type=P.DISCONNECT, data={}), "no data"),
        (Packet(type=P.EVENT, namespace="chat", data=["a"]), "namespace"),
        (Packet(type=P.EVENT, data=["a"], id=-1), "id"),
        (Packet(type=P.EVENT, data=["a"], id="1"), "id"),  # type: ignore[arg-type]
        (Packet(type=9, data=["a"]), "unknown packet type"),  # type: ignore[arg-type]
        (Packet(type=P.CONNECT, data={"b": b"x"}), "binary"),
        (Packet(type=P.EVENT, data=["a", float("nan")]), "cannot encode"),
    ],
)
def test_encode_refuses_invalid_packets(codec: JsonSerializer, packet: Packet, match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        codec.encode(packet)


def test_encode_event_refuses_non_string_name_and_nan(codec: JsonSerializer) -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode_event("/", 3, [])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        codec.encode_event("/", "m", [float("inf")])
    with pytest.raises(LocalProtocolError):
        codec.encode_ack("/", 1, [float("nan")])


def test_unserializable_value_raises_type_error(codec: JsonSerializer) -> None:
    with pytest.raises(TypeError):
        codec.encode_event("/", "m", [object()])


# -- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "packet"),
    [
        ("0/admin", Packet(type=P.CONNECT, namespace="/admin")),  # no trailing comma
        ("1/admin", Packet(type=P.DISCONNECT, namespace="/admin")),
        ("3/a,7", Packet(type=P.ACK, namespace="/a", data=[], id=7)),  # JS: no args
        ('2["m"] \n', Packet(type=P.EVENT, data=["m"])),  # trailing JSON whitespace
        ('2/a/b,["m"]', Packet(type=P.EVENT, namespace="/a/b", data=["m"])),
        (
            '2["m",{"_placeholder":true,"num":0}]',  # not a binary packet: left alone
            Packet(type=P.EVENT, data=["m", {"_placeholder": True, "num": 0}]),
        ),
        ('29007199254740991["m"]', Packet(type=P.EVENT, data=["m"], id=9007199254740991)),
    ],
)
def test_decode_lenient_forms_the_js_parser_accepts(wire: str, packet: Packet) -> None:
    assert JsonSerializer().decoder().feed(wire) == packet


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("", "empty"),
        ("7", "unknown packet type"),
        ("x", "unknown packet type"),
        ('2/a,x["m"]', "invalid JSON"),
        ("2[", "invalid JSON"),
        ('2["m"]x', "invalid JSON"),
        ('2["m",NaN]', "invalid JSON"),
        ('2["m",Infinity]', "invalid JSON"),
        ('2 ["m"]', "invalid JSON"),
        ("2", "non-empty"),
        ("2[]", "non-empty"),
        ('2{"a":1}', "non-empty"),
        ("2[1]", "event name must be a string"),
        ("2[null]", "event name must be a string"),
        ('2["connect"]', "reserved"),
        ('2["disconnect",1]', "reserved"),
        ('2["newListener"]', "reserved"),
        ('3["x"]', "ACK without an id"),
        ('31{"a":1}', "ACK data must be an array"),
        ("0[1]", "CONNECT data must be an object"),
        ('0"x"', "CONNECT data must be an object"),
        ("4", "CONNECT_ERROR data"),
        ("4[1]", "CONNECT_ERROR data"),
        ("1{}", "DISCONNECT carries no data"),
        ('212345678901234567["m"]', "invalid packet id"),
        ('5-["m"]', "attachment count"),
        ('50-["m"]', "attachment count"),
        ('5a-["m"]', "attachment count"),
        ('51["m"]', "attachment count"),
        ('5²-["m"]', "attachment count"),
        ('511-["m"]', "too many attachments"),
        ('51-{"a":1}', "non-empty"),
        ("61-[]", "ACK without an id"),
        ('2["' + "[" * 0 + 'm",' + "[" * 100_000 + "]" * 100_000 + "]", "invalid JSON"),
    ],
)
def test_decode_refuses_invalid_frames(wire: str, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason) as info:
        JsonSerializer().decoder().feed(wire)
    assert info.value.fatal is True
    assert reason.lower() in info.value.reason.lower()


def test_binary_frame_sequence_rules() -> None:
    codec = JsonSerializer()
    decoder = codec.decoder()
    with pytest.raises(RemoteProtocolError, match="binary frame without"):
        decoder.feed(b"unexpected")
    assert decoder.feed('52-["m",{"_placeholder":true,"num":1}]', now=12.5) is None
    assert decoder.pending_since == 12.5
    assert decoder.feed(b"a", now=13.0) is None
    assert decoder.pending_since == 12.5
    with pytest.raises(RemoteProtocolError, match="text frame while awaiting"):
        decoder.feed('2["m"]')
    # the decoder forgot the half packet: it can go on
    assert decoder.pending_since is None
    assert decoder.feed('2["m"]') == Packet(type=P.EVENT, data=["m"])


def test_reset_forgets_a_half_received_packet() -> None:
    decoder = JsonSerializer().decoder()
    assert decoder.feed('51-["m",{"_placeholder":true,"num":0}]', now=1.0) is None
    decoder.reset()
    assert decoder.pending_since is None
    with pytest.raises(RemoteProtocolError, match="binary frame without"):
        decoder.feed(b"late")


def test_attachment_count_must_match_the_announced_count() -> None:
    decoder = JsonSerializer().decoder()
    header = '53-["m",{"_placeholder":true,"num":0}]'
    assert decoder.feed(header) is None
    assert decoder.feed(b"1") is None
    assert decoder.feed(b"2") is None
    packet = decoder.feed(b"3")  # all three arrive; only one is referenced (JS allows it)
    assert packet == Packet(type=P.EVENT, data=["m", b"1"])


@pytest.mark.parametrize(
    "placeholder",
    [
        '{"_placeholder":true,"num":1}',  # out of range
        '{"_placeholder":true,"num":-1}',
        '{"_placeholder":true,"num":"0"}',
        '{"_placeholder":true,"num":0.0}',
        '{"_placeholder":true,"num":true}',
        '{"_placeholder":true}',
    ],
)
def test_bad_placeholders_are_refused(placeholder: str) -> None:
    decoder = JsonSerializer().decoder()
    assert decoder.feed(f'51-["m",[{placeholder}]]') is None
    with pytest.raises(RemoteProtocolError, match="placeholder"):
        decoder.feed(b"x")
    assert decoder.pending_since is None


def test_placeholder_flag_must_be_true_to_count() -> None:
    decoder = JsonSerializer().decoder()
    assert decoder.feed('51-["m",{"_placeholder":1,"num":0},{"_placeholder":true,"num":0}]') is None
    packet = decoder.feed(b"x")
    assert packet is not None
    assert packet.data == ["m", {"_placeholder": 1, "num": 0}, b"x"]


def test_binary_size_limit() -> None:
    codec = JsonSerializer(max_binary_bytes=10)
    decoder = codec.decoder()
    assert decoder.feed('52-["m",{"_placeholder":true,"num":0}]') is None
    assert decoder.feed(b"123456") is None
    with pytest.raises(RemoteProtocolError, match="too large"):
        decoder.feed(b"12345")
    assert decoder.pending_since is None


def test_max_attachments_is_configurable() -> None:
    frames = JsonSerializer().encode_event("/", "m", [b"1", b"2", b"3"])
    assert decode_all(JsonSerializer(max_attachments=3), frames).data == ["m", b"1", b"2", b"3"]
    with pytest.raises(RemoteProtocolError, match="too many attachments"):
        JsonSerializer(max_attachments=2).decoder().feed(frames[0])
    with pytest.raises(RemoteProtocolError, match="too many attachments"):
        JsonSerializer(max_attachments=0).decoder().feed(frames[0])


def test_binary_frames_may_be_bytearray_or_memoryview() -> None:
    decoder = JsonSerializer().decoder()
    assert decoder.feed('62-1[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]') is None
    assert decoder.feed(bytearray(b"a")) is None  # type: ignore[arg-type]
    packet = decoder.feed(memoryview(b"b"))  # type: ignore[arg-type]
    assert packet == Packet(type=P.ACK, data=[b"a", b"b"], id=1)
    assert all(type(item) is bytes for item in packet.data)


def test_feed_refuses_other_types() -> None:
    with pytest.raises(LocalProtocolError):
        JsonSerializer().decoder().feed(42)  # type: ignore[arg-type]


# -- custom json module and serializer selection -------------------------------------------


class CountingJson:
    """A json module stand-in that records its calls (like python-socketio's ``json``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def dumps(self, value: Any, **kwargs: Any) -> str:
        self.calls.append("dumps")
        assert kwargs == {"separators": (",", ":")}
        return json.dumps(value, **kwargs)

    def loads(self, text: str) -> Any:
        self.calls.append("loads")
        return json.loads(text)


def test_custom_json_module_is_used_both_ways() -> None:
    module = CountingJson()
    codec = JsonSerializer(module)
    assert codec.encode_event("/", "m", [1]) == ['2["m",1]']
    frames = codec.encode_event("/", "m", [{"b": b"\x01"}], 3)
    assert frames == ['51-3["m",{"b":{"_placeholder":true,"num":0}}]', b"\x01"]
    assert decode_all(codec, frames).data == ["m", {"b": b"\x01"}]
    assert module.calls == ["dumps", "dumps", "loads"]
    with pytest.raises(RemoteProtocolError, match="invalid JSON"):
        codec.decoder().feed("2[")


def test_custom_json_module_returning_bytes() -> None:
    class BytesJson:
        @staticmethod
        def dumps(value: Any, **kwargs: Any) -> bytes:
            return json.dumps(value, ensure_ascii=False, **kwargs).encode()

        loads = staticmethod(json.loads)

    assert JsonSerializer(BytesJson()).encode_ack("/", 1, ["é"]) == ['31["é"]']


def test_get_serializer() -> None:
    assert isinstance(get_serializer("default"), JsonSerializer)
    assert isinstance(get_serializer("json"), JsonSerializer)
    assert isinstance(get_serializer("msgpack"), MsgpackSerializer)
    codec = get_serializer("default", max_attachments=3, max_binary_bytes=99)
    assert isinstance(codec, JsonSerializer)
    assert (codec.max_attachments, codec.max_binary_bytes) == (3, 99)
    mine = JsonSerializer()
    assert get_serializer(mine) is mine
    module = CountingJson()
    get_serializer("default", json=module).encode_event("/", "m", [])
    assert module.calls == ["dumps"]
    for bad in ("pickle", 3, None, object()):
        with pytest.raises(ConfigurationError, match="serializer"):
            get_serializer(bad)
    with pytest.raises(ConfigurationError, match="json"):
        get_serializer("default", json=object())
    with pytest.raises(ConfigurationError, match="max_attachments"):
        JsonSerializer(max_attachments=-1)


def test_get_serializer_wraps_a_minimal_custom_serializer() -> None:
    inner = JsonSerializer()

    class Minimal:
        def encode(self, packet: Packet) -> list[str | bytes]:
            return inner.encode(packet)

        def decoder(self) -> Any:
            return inner.decoder()

    wrapped = get_serializer(Minimal())
    assert wrapped.encode_event("/a", "m", (1,), 2) == ['2/a,2["m",1]']
    assert wrapped.encode_ack("/a", 2, (1,)) == ["3/a,2[1]"]
    assert wrapped.decoder().feed('2["m"]') == Packet(type=P.EVENT, data=["m"])
