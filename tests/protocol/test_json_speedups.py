"""orjson (the ``speedups`` extra) encodes exactly what the standard encoder would."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sio_integrations.errors import LocalProtocolError
from sio_integrations.protocol import JsonSerializer, jsonparser

# CI installs the extra: there, a missing orjson fails instead of skipping
pytestmark = pytest.mark.skipif(jsonparser._orjson is None and os.environ.get("CI") != "true",
                                reason="orjson not installed")

FAST = JsonSerializer()
PLAIN = JsonSerializer(speedups=False)


def test_the_extra_is_used_when_installed() -> None:
    assert FAST._json is not PLAIN._json
    assert FAST._json.__name__ == "encode" and PLAIN._json.__name__ == "dumps"


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("value", [
    {"n": 1, "s": "hello", "l": [1.5, True, None, "null"]},
    {1: "int key", False: "bool key", None: "none key", 2.5: "float key"},
    [2**64, -(2**70)],  # beyond orjson's 64 bits
    ["\ud800 lone surrogate"],
    ["é ü 中文 \U0001f600", "\x00\x1f\x7f\"\\/"],
    [uuid.UUID(int=7), Colour.RED, Level.HIGH],
    [(1, 2), ()],
])
def test_same_frames_as_the_standard_encoder(value: Any) -> None:
    assert FAST.encode_event("/", "m", [value]) == PLAIN.encode_event("/", "m", [value])
    assert FAST.encode_ack("/", 1, [value]) == PLAIN.encode_ack("/", 1, [value])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinities_are_still_refused(bad: float) -> None:
    # orjson would write null, the standard encoder refuses: the result must not depend
    # on the extra
    with pytest.raises(LocalProtocolError, match="cannot encode"):
        FAST.encode_event("/", "m", [{"deep": [bad]}])
    with pytest.raises(LocalProtocolError, match="cannot encode"):
        FAST.encode_ack("/", 1, [bad])


@pytest.mark.parametrize("value", [Point(1), datetime.date(2026, 1, 1), object()])
def test_values_the_standard_encoder_refuses_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        FAST.encode_event("/", "m", [value])
    with pytest.raises(TypeError):
        PLAIN.encode_event("/", "m", [value])


def test_binary_is_still_sent_as_attachments() -> None:
    frames = FAST.encode_event("/", "m", [{"a": b"\x01\x02"}])
    assert frames == ['51-["m",{"a":{"_placeholder":true,"num":0}}]', b"\x01\x02"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_value_decodes_to_what_the_standard_encoder_wrote(value: Any) -> None:
    fast, plain = FAST.encode_ack("/", 1, [value]), PLAIN.encode_ack("/", 1, [value])
    # the same text, except that floats may be spelt differently (1e16 vs 1e+16)
    assert json.loads(fast[0][2:]) == json.loads(plain[0][2:])  # type: ignore[index]
