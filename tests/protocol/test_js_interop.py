"""Wire compatibility with the reference JS parsers, checked by running them under node.

``socket.io-parser`` (the default codec) and ``socket.io-msgpack-parser`` are pinned in
``js/package.json``; ``npm install --no-package-lock`` runs there when ``node_modules`` is
missing. Without node (or npm, or the network) the tests skip, except under ``CI=true``
where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sio_integrations.protocol import Packet, PacketType, get_serializer

JS_DIR = Path(__file__).parent / "js"
P = PacketType


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"JS interop tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node/npm not installed")
    assert node is not None and npm is not None
    if (
        not (JS_DIR / "node_modules" / "socket.io-parser").is_dir()
        or not (JS_DIR / "node_modules" / "socket.io-msgpack-parser").is_dir()
    ):
        result = subprocess.run(
            [npm, "install", "--no-package-lock", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            _unavailable(f"npm install failed: {result.stderr[-500:]}")
    return node


def run_js(node: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [node, str(JS_DIR / "interop.js")],
        input=json.dumps(tasks),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers: list[dict[str, Any]] = json.loads(result.stdout)
    assert len(answers) == len(tasks)
    return answers


# -- translation between Python values and the JSON envelope of interop.js ----------------


def to_js(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bin": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (list, tuple)):
        return [to_js(item) for item in value]
    if isinstance(value, dict):
        return {key: to_js(item) for key, item in value.items()}
    return value


def from_js(value: Any) -> Any:
    if isinstance(value, list):
        return [from_js(item) for item in value]
    if isinstance(value, dict):
        if "$bin" in value:
            return base64.b64decode(value["$bin"])
        if value.get("$undef") is True:
            return None
        return {key: from_js(item) for key, item in value.items()}
    return value


def frame_to_js(frame: str | bytes) -> dict[str, str]:
    if isinstance(frame, str):
        return {"text": frame}
    return {"$bin": base64.b64encode(frame).decode()}


def frame_from_js(frame: dict[str, str]) -> str | bytes:
    return frame["text"] if "text" in frame else base64.b64decode(frame["$bin"])


def packet_to_js(packet: Packet) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": int(packet.type), "nsp": packet.namespace}
    if packet.data is not None:
        obj["data"] = to_js(packet.data)
    if packet.id is not None:
        obj["id"] = packet.id
    return obj


def packet_from_js(obj: dict[str, Any]) -> Packet:
    data = from_js(obj["data"]) if "data" in obj else None
    ack_id = obj.get("id")
    return Packet(type=P(obj["type"]), namespace=obj["nsp"], data=data, id=ack_id)


BLOB = {
    "list": [b"\x00\x01\x02", {"inner": bytearray(b"\xff" * 300)}, "text"],
    "view": memoryview(b"mv"),
    "deep": {"a": [{"b": [b""]}]},
}
BLOB_DECODED = {
    "list": [b"\x00\x01\x02", {"inner": b"\xff" * 300}, "text"],
    "view": b"mv",
    "deep": {"a": [{"b": [b""]}]},
}

# (packet Python sends / JS sends, packet the other side decodes)
CASES: list[tuple[Packet, Packet]] = [
    (Packet(type=P.CONNECT), Packet(type=P.CONNECT)),
    (
        Packet(type=P.CONNECT, namespace="/admin", data={"token": "t", "n": [1, 2.5]}),
        Packet(type=P.CONNECT, namespace="/admin", data={"token": "t", "n": [1, 2.5]}),
    ),
    (Packet(type=P.DISCONNECT, namespace="/x"), Packet(type=P.DISCONNECT, namespace="/x")),
    (Packet(type=P.DISCONNECT), Packet(type=P.DISCONNECT)),
    (
        Packet(type=P.EVENT, data=["hello", "wörld", {"emoji": "😀"}, None, True, -3]),
        Packet(type=P.EVENT, data=["hello", "wörld", {"emoji": "😀"}, None, True, -3]),
    ),
    (
        Packet(type=P.EVENT, namespace="/chat", data=["m", 1], id=42),
        Packet(type=P.EVENT, namespace="/chat", data=["m", 1], id=42),
    ),
    (Packet(type=P.EVENT, data=["m"], id=0), Packet(type=P.EVENT, data=["m"], id=0)),
    (
        Packet(type=P.ACK, namespace="/chat", data=["ok", {"x": []}], id=7),
        Packet(type=P.ACK, namespace="/chat", data=["ok", {"x": []}], id=7),
    ),
    (Packet(type=P.ACK, data=[], id=123456), Packet(type=P.ACK, data=[], id=123456)),
    (
        Packet(type=P.CONNECT_ERROR, namespace="/p", data={"message": "no", "data": {"c": 1}}),
        Packet(type=P.CONNECT_ERROR, namespace="/p", data={"message": "no", "data": {"c": 1}}),
    ),
    (
        Packet(type=P.CONNECT_ERROR, data="legacy message"),
        Packet(type=P.CONNECT_ERROR, data="legacy message"),
    ),
    (  # BINARY_EVENT
        Packet(type=P.EVENT, namespace="/up", data=["upload", BLOB, b"top"], id=9),
        Packet(type=P.EVENT, namespace="/up", data=["upload", BLOB_DECODED, b"top"], id=9),
    ),
    (
        Packet(type=P.EVENT, data=["bin", b"only"]),
        Packet(type=P.EVENT, data=["bin", b"only"]),
    ),
    (  # BINARY_ACK
        Packet(type=P.ACK, namespace="/up", data=[{"ok": bytearray(b"\x01")}, b"z"], id=3),
        Packet(type=P.ACK, namespace="/up", data=[{"ok": b"\x01"}, b"z"], id=3),
    ),
]


@pytest.mark.parametrize("parser", ["default", "msgpack"])
def test_python_encodes_js_decodes(node: str, parser: str) -> None:
    serializer = get_serializer(parser)
    tasks = []
    for sent, _ in CASES:
        frames = serializer.encode(sent)
        tasks.append({"op": "decode", "parser": parser, "frames": [frame_to_js(f) for f in frames]})
    for (sent, expected), answer in zip(CASES, run_js(node, tasks), strict=True):
        assert "error" not in answer, (sent, answer)
        [packet] = answer["packets"]
        assert packet_from_js(packet) == expected, sent


@pytest.mark.parametrize("parser", ["default", "msgpack"])
def test_js_encodes_python_decodes(node: str, parser: str) -> None:
    serializer = get_serializer(parser)
    tasks = [{"op": "encode", "parser": parser, "packet": packet_to_js(p)} for p, _ in CASES]
    for (sent, expected), answer in zip(CASES, run_js(node, tasks), strict=True):
        frames = [frame_from_js(f) for f in answer["frames"]]
        if parser == "msgpack":
            assert len(frames) == 1 and isinstance(frames[0], bytes)
        decoder = serializer.decoder()
        results = [decoder.feed(frame) for frame in frames]
        assert results[:-1] == [None] * (len(frames) - 1)
        assert results[-1] == expected, sent


def test_encodings_are_byte_identical_to_js(node: str) -> None:
    """Our default encoder writes exactly what socket.io-parser writes."""
    serializer = get_serializer("default")
    tasks = [{"op": "encode", "parser": "default", "packet": packet_to_js(p)} for p, _ in CASES]
    for (sent, _), answer in zip(CASES, run_js(node, tasks), strict=True):
        assert serializer.encode(sent) == [frame_from_js(f) for f in answer["frames"]], sent


def test_js_undefined_fields_decode_as_none(node: str) -> None:
    """notepack writes ``undefined`` (e.g. the pid of a CONNECT reply) as an extension."""
    packet = {"type": 0, "nsp": "/", "data": {"sid": "abc", "pid": {"$undef": True}}}
    [answer] = run_js(node, [{"op": "encode", "parser": "msgpack", "packet": packet}])
    [frame] = [frame_from_js(f) for f in answer["frames"]]
    decoded = get_serializer("msgpack").decoder().feed(frame)
    assert decoded == Packet(type=P.CONNECT, data={"sid": "abc", "pid": None})


@pytest.mark.parametrize("parser", ["default", "msgpack"])
def test_both_refuse_reserved_event_names(node: str, parser: str) -> None:
    """What the JS parsers do with a reserved event name (ours refuse it: see
    test_packets_json / test_msgpack)."""
    frame: str | bytes
    if parser == "default":
        frame = '2["disconnect"]'
    else:
        import msgpack

        frame = msgpack.packb({"type": 2, "data": ["connect"], "nsp": "/"})
    [answer] = run_js(node, [{"op": "decode", "parser": parser, "frames": [frame_to_js(frame)]}])
    if parser == "default":
        assert "error" in answer
    else:
        # socket.io-msgpack-parser does not check names at all; our decoder still does
        assert answer["packets"][0]["data"] == ["connect"]
