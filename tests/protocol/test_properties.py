"""Property tests: any encodable packet round-trips; no input crashes a decoder."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sio_integrations.errors import RemoteProtocolError
from sio_integrations.protocol import (
    Ack,
    ClientConnection,
    Connect,
    Event,
    Packet,
    PacketType,
    ServerConnection,
    get_serializer,
)
from sio_integrations.protocol.packets import RESERVED_EVENTS

# no attachment limit here: the encoder does not enforce the peer's (JS default: 10)
SERIALIZERS = {
    "default": get_serializer("default", max_attachments=10_000),
    "msgpack": get_serializer("msgpack"),
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
binary = st.binary(max_size=64) | st.binary(max_size=8).map(bytearray)
values = st.recursive(
    scalars | binary,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
namespaces = st.just("/") | st.from_regex(r"/[a-z0-9/_-]{1,12}", fullmatch=True)
names = st.text(min_size=1).filter(lambda n: n not in RESERVED_EVENTS)
ack_ids = st.none() | st.integers(min_value=0, max_value=2**53 - 1)


def normal(value: Any) -> Any:
    """What a value decodes as: binary becomes bytes, tuples become lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [normal(v) for v in value]
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    return value


def decode(spec: str, frames: list[str | bytes]) -> Packet | None:
    decoder = SERIALIZERS[spec].decoder()
    result = None
    for frame in frames:
        result = decoder.feed(frame)
    return result


@settings(max_examples=300, deadline=None)
@given(
    spec=st.sampled_from(sorted(SERIALIZERS)),
    namespace=namespaces,
    name=names,
    args=st.lists(values, max_size=4),
    ack_id=ack_ids,
)
def test_events_round_trip(
    spec: str, namespace: str, name: str, args: list[Any], ack_id: int | None
) -> None:
    frames = SERIALIZERS[spec].encode_event(namespace, name, args, ack_id)
    assert decode(spec, frames) == Packet(
        type=PacketType.EVENT, namespace=namespace, data=[name, *normal(args)], id=ack_id
    )


@settings(max_examples=200, deadline=None)
@given(
    spec=st.sampled_from(sorted(SERIALIZERS)),
    namespace=namespaces,
    args=st.lists(values, max_size=4),
    ack_id=st.integers(min_value=0, max_value=2**53 - 1),
)
def test_acks_round_trip(spec: str, namespace: str, args: list[Any], ack_id: int) -> None:
    frames = SERIALIZERS[spec].encode_ack(namespace, ack_id, tuple(args))
    assert decode(spec, frames) == Packet(
        type=PacketType.ACK, namespace=namespace, data=normal(args), id=ack_id
    )


@settings(max_examples=150, deadline=None)
@given(
    spec=st.sampled_from(sorted(SERIALIZERS)),
    namespace=namespaces,
    auth=st.none() | st.dictionaries(st.text(max_size=8), scalars, max_size=4),
)
def test_connect_round_trips_between_connections(
    spec: str, namespace: str, auth: dict[str, Any] | None
) -> None:
    serializer = SERIALIZERS[spec]
    client, server = ClientConnection(serializer), ServerConnection(serializer)
    [frame] = client.send(Connect(namespace=namespace, data=auth))
    assert server.receive_data(frame) == Connect(namespace=namespace, data=auth)
    [frame] = server.send(Connect(namespace=namespace, data={"sid": "s"}))
    assert client.receive_data(frame) == Connect(namespace=namespace, data={"sid": "s"})
    for frame in client.send(Event(namespace=namespace, name="e", args=(b"x",), ack_id=1)):
        event = server.receive_data(frame)
    assert event == Event(namespace=namespace, name="e", args=[b"x"], ack_id=1)
    for frame in server.send(Ack(namespace=namespace, ack_id=1, args=())):
        assert client.receive_data(frame) == Ack(namespace=namespace, ack_id=1, args=[])


header = st.from_regex(r"[0-7]([0-9]{0,3}-)?(/[a-z,]{0,4},?)?[0-9]{0,3}", fullmatch=True)
json_tail = st.sampled_from(
    ["", "[", "[]", '["m"]', '["m",{"_placeholder":true,"num":0}]', "{}", '"s"', "1", "x"]
)
frames = st.lists(
    st.text(max_size=40)
    | st.binary(max_size=20)
    | st.builds(lambda h, t: h + t, header, json_tail)
    | st.builds(lambda h, t: h + t, header, st.text(max_size=20)),
    max_size=6,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=frames)
def test_default_decoder_only_raises_remote_protocol_errors(stream: list[str | bytes]) -> None:
    for conn in (
        ServerConnection(SERIALIZERS["default"]),
        ClientConnection(SERIALIZERS["default"]),
    ):
        for frame in stream:
            try:
                conn.receive_data(frame)
            except RemoteProtocolError:
                pass


msgpack_objects = st.dictionaries(
    st.sampled_from(["type", "nsp", "data", "id", "other"]),
    st.none()
    | st.integers(min_value=-2, max_value=8)
    | st.sampled_from(["/", "/a", "x", "connect", "m"])
    | st.lists(st.sampled_from(["m", "connect", 1, None, b"b"]), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2),
)


@settings(max_examples=500, deadline=None)
@given(
    stream=st.lists(
        st.binary(max_size=30) | st.text(max_size=5) | msgpack_objects.map(msgpack.packb),
        max_size=5,
    )
)
def test_msgpack_decoder_only_raises_remote_protocol_errors(stream: list[str | bytes]) -> None:
    for conn in (
        ServerConnection(SERIALIZERS["msgpack"]),
        ClientConnection(SERIALIZERS["msgpack"]),
    ):
        for frame in stream:
            try:
                conn.receive_data(frame)
            except RemoteProtocolError:
                pass
