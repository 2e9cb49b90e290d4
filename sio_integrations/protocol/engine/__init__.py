"""Sans-IO Engine.IO v4: packet/payload codec, request validation, per-session state."""

from __future__ import annotations

from .packets import Packet, PacketType, decode_frame, decode_payload, encode_frame, encode_payload
from .requests import (
    EngineRequest,
    ErrorCode,
    RequestError,
    RequestKind,
    classify_request,
    origin_allowed,
)
from .session import Heartbeat, PollMode, Session, UpgradeState, open_frame

__all__ = [
    "EngineRequest",
    "ErrorCode",
    "Heartbeat",
    "Packet",
    "PacketType",
    "PollMode",
    "RequestError",
    "RequestKind",
    "Session",
    "UpgradeState",
    "classify_request",
    "decode_frame",
    "decode_payload",
    "encode_frame",
    "encode_payload",
    "open_frame",
    "origin_allowed",
]
