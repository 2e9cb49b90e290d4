"""The cluster message format (sans-IO): bytes in, validated messages out."""

from __future__ import annotations

import json
import pickle

import pytest

from sio_integrations.errors import ConfigurationError
from sio_integrations.protocol.cluster import ClusterCodec, DroppedMessage, SocketInfo

SECRET = "a-shared-secret-of-some-length"


def emit_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {"ns": "/", "ev": "news", "args": [1], "to": "room",
                                 "skip": None, "cb": None}
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_round_trip_with_binary_values(fmt: str) -> None:
    codec = ClusterCodec(fmt=fmt)
    args = [{"blob": b"\x00\xff", "list": [b"x", "y"]}, "text", None, 3.5]
    data = codec.encode("emit", "node-1", **emit_fields(args=args, to=["r1", "r2"]))
    message = codec.decode(data)
    assert message["args"] == args and message["to"] == ["r1", "r2"]
    assert message["k"] == "emit" and message["n"] == "node-1" and message["v"] == 1


def test_json_is_what_travels() -> None:
    data = ClusterCodec().encode("enter", "n", ns="/", sid="s", room="r")
    assert data[:6] == b"SIO1ju"
    assert json.loads(data[6:]) == {"v": 1, "k": "enter", "n": "n", "ns": "/", "sid": "s",
                                    "room": "r"}


def test_pickle_is_never_loaded() -> None:
    codec = ClusterCodec()
    with pytest.raises(DroppedMessage) as info:
        codec.decode(pickle.dumps({"method": "emit"}))
    assert info.value.category == "invalid"
    # even behind our header
    with pytest.raises(DroppedMessage):
        codec.decode(b"SIO1ju" + pickle.dumps({"v": 1}))


def test_signed_messages_are_verified() -> None:
    signer = ClusterCodec(secret=SECRET)
    data = signer.encode("close", "n", ns="/", room="r")
    assert signer.decode(data)["room"] == "r"
    forged = data[:-3] + b'"x}'
    with pytest.raises(DroppedMessage) as info:
        signer.decode(forged)
    assert info.value.category == "forged"
    other = ClusterCodec(secret="another-secret-of-enough-length")
    with pytest.raises(DroppedMessage) as info:
        other.decode(data)
    assert info.value.category == "forged"


def test_unsigned_messages_are_refused_when_a_secret_is_set() -> None:
    data = ClusterCodec().encode("close", "n", ns="/", room="r")
    with pytest.raises(DroppedMessage) as info:
        ClusterCodec(secret=SECRET).decode(data)
    assert info.value.category == "unsigned"


@pytest.mark.parametrize("fields,why", [
    ({"ns": 1}, "ns"), ({"to": [1]}, "to"), ({"args": "x"}, "args"), ({"cb": "1"}, "cb"),
])
def test_mistyped_fields_are_refused(fields: dict[str, object], why: str) -> None:
    codec = ClusterCodec()
    data = codec.encode("emit", "n", **emit_fields(**fields))
    with pytest.raises(DroppedMessage) as info:
        codec.decode(data)
    assert info.value.category == "invalid" and why in str(info.value)


@pytest.mark.parametrize("body,category", [
    (b'{"v":2,"k":"beat","n":"x"}', "version"),
    (b'{"v":1,"k":"exec","n":"x"}', "invalid"),
    (b'{"v":1,"k":"beat"}', "invalid"),
    (b'[1,2]', "invalid"),
    (b'{"v":1,"k":"beat","n":"x","_bin":["!!"]}', "invalid"),
    (b'{"v":1,"k":"ack","n":"x","dst":"y","id":1,"args":[{"_placeholder":true,"num":3}],'
     b'"_bin":[]}', "invalid"),
    (b"not json", "invalid"),
])
def test_invalid_bodies(body: bytes, category: str) -> None:
    with pytest.raises(DroppedMessage) as info:
        ClusterCodec().decode(b"SIO1ju" + body)
    assert info.value.category == category


def test_size_limit_and_headers() -> None:
    codec = ClusterCodec(max_bytes=100)
    with pytest.raises(DroppedMessage) as info:
        codec.decode(b"SIO1ju" + b" " * 200)
    assert info.value.category == "too_large"
    with pytest.raises(DroppedMessage) as info:
        codec.decode(b"SIO2ju{}")
    assert info.value.category == "version"
    with pytest.raises(DroppedMessage):
        codec.decode(b"SIO1jx{}")


def test_configuration_errors_name_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="message_queue_secret"):
        ClusterCodec(secret="short")
    with pytest.raises(ConfigurationError, match="message_queue_format"):
        ClusterCodec(fmt="pickle")


def test_socket_info_from_wire_refuses_malformed_items() -> None:
    good = {"sid": "s", "rooms": ["s", "r"], "handshake": {}, "data": None, "node": "n"}
    info = SocketInfo.from_wire(good, "/chat")
    assert info is not None and info.rooms == ("s", "r") and info.namespace == "/chat"
    assert info.to_wire() == good
    assert SocketInfo.from_wire({**good, "rooms": [1]}, "/") is None
    assert SocketInfo.from_wire("x", "/") is None


def test_a_custom_json_module_is_used() -> None:
    class Loud:
        calls = 0

        @staticmethod
        def dumps(obj: object) -> str:
            Loud.calls += 1
            return json.dumps(obj)

        @staticmethod
        def loads(data: bytes) -> object:
            return json.loads(data)

    codec = ClusterCodec(json_module=Loud)
    assert codec.decode(codec.encode("beat", "n"))["k"] == "beat"
    assert Loud.calls == 1
