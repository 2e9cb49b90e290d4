"""ServerConnection / ClientConnection: frames in, events out, with the state rules."""

from __future__ import annotations

from typing import Any

import pytest

from sio_integrations.errors import LocalProtocolError, RemoteProtocolError
from sio_integrations.protocol import (
    Ack,
    ClientConnection,
    Connect,
    ConnectError,
    Disconnect,
    Event,
    JsonSerializer,
    NamespaceState,
    ServerConnection,
    get_serializer,
)

CODEC = JsonSerializer()


def joined_server(*namespaces: str) -> ServerConnection:
    conn = ServerConnection(CODEC)
    for ns in namespaces:
        frame = "0" if ns == "/" else f"0{ns},"
        assert conn.receive_data(frame) == Connect(namespace=ns)
        conn.send(Connect(namespace=ns, data={"sid": "sid-" + ns}))
    return conn


def test_server_conversation() -> None:
    conn = ServerConnection(CODEC)
    assert conn.receive_data('0/chat,{"token":"t"}') == Connect(
        namespace="/chat", data={"token": "t"}
    )
    assert conn.state("/chat") is NamespaceState.CONNECTING
    assert conn.connected_namespaces == []
    # emitting from the connect handler is allowed before the CONNECT reply
    assert conn.send(Event(namespace="/chat", name="welcome", args=("hi",))) == [
        '2/chat,["welcome","hi"]'
    ]
    assert conn.send(Connect(namespace="/chat", data={"sid": "abc"})) == ['0/chat,{"sid":"abc"}']
    assert conn.connected_namespaces == ["/chat"]
    event = conn.receive_data('2/chat,5["msg",{"a":1},[2]]')
    assert event == Event(namespace="/chat", name="msg", args=[{"a": 1}, [2]], ack_id=5)
    assert conn.send(Ack(namespace="/chat", ack_id=5, args=["ok"])) == ['3/chat,5["ok"]']
    assert conn.send(Event(namespace="/chat", name="q", args=[], ack_id=1)) == ['2/chat,1["q"]']
    assert conn.receive_data("3/chat,1[true]") == Ack(namespace="/chat", ack_id=1, args=[True])
    assert conn.receive_data("1/chat,") == Disconnect(namespace="/chat")
    assert conn.state("/chat") is NamespaceState.ABSENT
    assert conn.connected_namespaces == []


def test_binary_event_needs_every_attachment() -> None:
    conn = joined_server("/")
    assert conn.receive_data('51-3["up",{"_placeholder":true,"num":0}]', now=5.0) is None
    assert conn.pending_since == 5.0
    assert conn.receive_data(b"data") == Event(name="up", args=[b"data"], ack_id=3)
    assert conn.pending_since is None
    assert conn.send(Ack(ack_id=3, args=[b"back"])) == [
        '61-3[{"_placeholder":true,"num":0}]',
        b"back",
    ]


def test_server_refusal_and_reconnect() -> None:
    conn = ServerConnection(CODEC)
    conn.receive_data("0/private,")
    assert conn.send(ConnectError(namespace="/private", data={"message": "no"})) == [
        '4/private,{"message":"no"}'
    ]
    assert conn.state("/private") is NamespaceState.ABSENT
    assert conn.receive_data("0/private,") == Connect(namespace="/private")


def test_server_rejects_unsafe_connect_replies() -> None:
    conn = ServerConnection(CODEC)
    conn.receive_data("0")
    for data in (None, {}, {"sid": 1}, "sid"):
        with pytest.raises(LocalProtocolError, match="sid"):
            conn.send(Connect(data=data))
    assert conn.state("/") is NamespaceState.CONNECTING


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        (["0", "0"], "Connect"),  # duplicate CONNECT while connecting
        (["0/a,", "0/a,"], "Connect"),
        (['2["m"]'], "Event"),  # never joined
        (["31[]"], "Ack"),
        (["1"], "Disconnect"),
        (['4{"message":"x"}'], "ConnectError"),  # clients never send it
        (["0", '2["m"]'], "Event"),  # before the server accepted
        (["0", "1"], "Disconnect"),
        (["garbage"], "unknown packet type"),
        (['2["disconnect"]'], "reserved"),
        (["2[5]"], "event name"),
    ],
)
def test_server_fatal_input(frames: list[str], reason: str) -> None:
    conn = ServerConnection(CODEC)
    for frame in frames[:-1]:
        conn.receive_data(frame)
    with pytest.raises(RemoteProtocolError, match=reason) as info:
        conn.receive_data(frames[-1])
    assert info.value.fatal is True


def test_duplicate_connect_on_a_connected_namespace_is_fatal() -> None:
    conn = joined_server("/")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data("0")
    assert info.value.fatal
    assert conn.state("/") is NamespaceState.CONNECTED


def test_late_packets_after_our_disconnect_are_dropped_not_fatal() -> None:
    conn = joined_server("/", "/chat")
    conn.send(Disconnect(namespace="/chat"))
    for frame in ('2/chat,["m"]', "3/chat,4[]", "1/chat,"):
        with pytest.raises(RemoteProtocolError) as info:
            conn.receive_data(frame)
        assert info.value.fatal is False
    # the other namespace is untouched
    assert conn.receive_data('2["m"]') == Event(name="m", args=[])
    # after a fresh CONNECT, the grace is over
    conn.receive_data("0/chat,")
    conn.send(Connect(namespace="/chat", data={"sid": "x"}))
    conn.receive_data("1/chat,")
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data('2/chat,["m"]')
    assert info.value.fatal is True


def test_the_late_packet_memory_is_bounded() -> None:
    names = [f"/n{i}" for i in range(40)]
    conn = joined_server(*names)
    for ns in names:
        conn.send(Disconnect(namespace=ns))
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data('2/n0,["m"]')  # forgotten: the oldest entries went first
    assert info.value.fatal is True
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data('2/n39,["m"]')
    assert info.value.fatal is False


def test_close() -> None:
    conn = joined_server("/", "/a")
    conn.receive_data("0/b,")  # still connecting: its connect handler never completed
    assert conn.receive_data('51-["m",{"_placeholder":true,"num":0}]', now=1.0) is None
    assert conn.close() == ["/", "/a"]
    assert conn.closed
    assert conn.pending_since is None
    assert conn.connected_namespaces == []
    assert conn.close() == []
    # a handler finishing after the transport closed: nothing to send, no error
    assert conn.send(Ack(ack_id=1, args=[])) == []
    assert conn.send(Connect(namespace="/b", data={"sid": "s"})) == []
    assert conn.receive_data('2["m"]') is None


def test_send_validates_what_the_fast_paths_trust() -> None:
    conn = joined_server("/")
    with pytest.raises(LocalProtocolError, match="not a Socket.IO event"):
        conn.send("hello")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="ack_id"):
        conn.send(Ack(ack_id="1", args=[]))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="ack_id"):
        conn.send(Event(name="m", ack_id=1.0))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="reserved"):
        conn.send(Event(name="connect"))
    with pytest.raises(LocalProtocolError, match="Event"):
        conn.send(Event(namespace="/other", name="m"))


def test_client_conversation() -> None:
    conn = ClientConnection(CODEC)
    assert conn.send(Connect(namespace="/chat", data={"token": "t"})) == ['0/chat,{"token":"t"}']
    with pytest.raises(LocalProtocolError):
        conn.send(Event(namespace="/chat", name="early"))  # must wait for CONNECT
    # the server's early emit is delivered (the runtime buffers it until connected)
    assert conn.receive_data('2/chat,["welcome"]') == Event(
        namespace="/chat", name="welcome", args=[]
    )
    assert conn.receive_data('0/chat,{"sid":"abc","pid":null}') == Connect(
        namespace="/chat", data={"sid": "abc", "pid": None}
    )
    assert conn.connected_namespaces == ["/chat"]
    assert conn.send(Event(namespace="/chat", name="m", args=[1], ack_id=1)) == ['2/chat,1["m",1]']
    assert conn.receive_data('3/chat,1["ok"]') == Ack(namespace="/chat", ack_id=1, args=["ok"])
    assert conn.send(Disconnect(namespace="/chat")) == ["1/chat,"]
    assert conn.state("/chat") is NamespaceState.ABSENT


def test_client_refused() -> None:
    conn = ClientConnection(CODEC)
    conn.send(Connect())
    assert conn.receive_data('4{"message":"Not authorized","data":{"code":1}}') == ConnectError(
        data={"message": "Not authorized", "data": {"code": 1}}
    )
    assert conn.state("/") is NamespaceState.ABSENT
    conn.send(Connect())
    assert conn.receive_data('4"legacy"') == ConnectError(data="legacy")


@pytest.mark.parametrize("frame", ['2/x,["m"]', "3/x,1[]", "1/x,", '0/x,{"sid":"s"}', '4/x,"no"'])
def test_client_ignores_namespaces_it_has_not_joined(frame: str) -> None:
    conn = ClientConnection(CODEC)
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(frame)
    assert info.value.fatal is False


@pytest.mark.parametrize("data", ["", "{}", '{"sid":1}', '{"id":"x"}'])
def test_client_needs_a_sid_in_connect(data: str) -> None:
    conn = ClientConnection(CODEC)
    conn.send(Connect())
    with pytest.raises(RemoteProtocolError, match="sid") as info:
        conn.receive_data("0" + data)
    assert info.value.fatal is True
    assert conn.state("/") is NamespaceState.CONNECTING


def test_client_fatal_cases() -> None:
    conn = ClientConnection(CODEC)
    conn.send(Connect())
    conn.receive_data('0{"sid":"a"}')
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data('0{"sid":"b"}')  # a second accept
    assert info.value.fatal
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data('4{"message":"x"}')  # refusal of a connected namespace
    assert info.value.fatal


@pytest.mark.parametrize("spec", ["default", "msgpack"])
def test_server_and_client_talk_to_each_other(spec: str) -> None:
    serializer = get_serializer(spec)
    server = ServerConnection(serializer)
    client = ClientConnection(serializer)

    def pipe(frames: list[str | bytes], to: Any) -> Any:
        result = None
        for frame in frames:
            result = to.receive_data(frame)
        return result

    assert pipe(client.send(Connect(namespace="/a", data={"k": 1})), server) == Connect(
        namespace="/a", data={"k": 1}
    )
    accept = Connect(namespace="/a", data={"sid": "S"})
    assert pipe(server.send(accept), client) == accept
    blob = {"nested": [bytearray(b"\x00\x01"), {"deep": memoryview(b"\xff")}]}
    event = pipe(client.send(Event(namespace="/a", name="up", args=(blob, 2), ack_id=1)), server)
    assert event == Event(
        namespace="/a",
        name="up",
        args=[{"nested": [b"\x00\x01", {"deep": b"\xff"}]}, 2],
        ack_id=1,
    )
    ack = pipe(server.send(Ack(namespace="/a", ack_id=1, args=(b"r",))), client)
    assert ack == Ack(namespace="/a", ack_id=1, args=[b"r"])
    assert pipe(server.send(Disconnect(namespace="/a")), client) == Disconnect(namespace="/a")
    assert server.connected_namespaces == client.connected_namespaces == []


@pytest.mark.parametrize("frame, expected", [
    ('2["echo",{"n":1}]', ("echo", [{"n": 1}], None)),
    ('212["echo",1,"two"]', ("echo", [1, "two"], 12)),
    ('20["a"]', ("a", [], 0)),
])
def test_receive_plain_event_returns_what_receive_data_would(frame: str, expected: Any) -> None:
    conn = joined_server("/")
    assert conn.receive_plain_event(frame) == expected
    name, args, ack_id = expected
    assert joined_server("/").receive_data(frame) == Event(namespace="/", name=name, args=args,
                                                           ack_id=ack_id)


@pytest.mark.parametrize("frame", [
    '2/chat,["a"]',                   # another namespace
    '51-["a",{"_placeholder":true,"num":0}]',  # attachments
    '31[1]',                           # an ack
    '2["a",]',                         # invalid JSON: the full decoder says why
    '2["a"] ',                         # trailing space
    '2["disconnect"]',                 # a reserved name
    '2[1]',                            # not a name
    '2{"a":1}',                        # not an array
    b'2["a"]',                         # bytes
])
def test_receive_plain_event_declines_the_rest_and_changes_nothing(frame: Any) -> None:
    conn = joined_server("/", "/chat")
    assert conn.receive_plain_event(frame) is None
    assert conn.state("/") is NamespaceState.CONNECTED
    assert conn.state("/chat") is NamespaceState.CONNECTED


def test_receive_plain_event_needs_a_connected_main_namespace() -> None:
    assert ServerConnection(CODEC).receive_plain_event('2["a"]') is None
    conn = joined_server("/")
    conn.close()
    assert conn.receive_plain_event('2["a"]') is None
    conn = joined_server("/")
    assert conn.receive_data('51-["a",{"_placeholder":true,"num":0}]') is None  # pending
    assert conn.receive_plain_event('2["b"]') is None
