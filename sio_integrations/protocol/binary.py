"""Binary attachments of the default codec: placeholders out, buffers back in."""

from __future__ import annotations

from typing import Any

from ..errors import RemoteProtocolError

__all__ = ["BINARY_TYPES", "deconstruct", "has_binary", "reconstruct"]

#: the Python types sent as binary (JS: Buffer, ArrayBuffer, typed arrays, Blob)
BINARY_TYPES = (bytes, bytearray, memoryview)


def has_binary(data: Any) -> bool:
    """Whether ``data`` holds a binary value at any depth (lists, tuples, dict values)."""
    if isinstance(data, BINARY_TYPES):
        return True
    if isinstance(data, (list, tuple)):
        return any(has_binary(item) for item in data)
    if isinstance(data, dict):
        return any(has_binary(item) for item in data.values())
    return False


def deconstruct(data: Any, buffers: list[bytes]) -> Any:
    """A copy of ``data`` with each binary value replaced by a numbered placeholder.

    The binary values are appended to ``buffers`` (as ``bytes``) in placeholder order.
    """
    if isinstance(data, BINARY_TYPES):
        buffers.append(data if type(data) is bytes else bytes(data))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(data, (list, tuple)):
        return [deconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        return {key: deconstruct(value, buffers) for key, value in data.items()}
    return data


def reconstruct(data: Any, buffers: list[bytes]) -> Any:
    """Put the received ``buffers`` back in place of their placeholders (in place).

    Raises :class:`RemoteProtocolError` for a placeholder whose ``num`` is not an int
    indexing ``buffers``.
    """
    if type(data) is list:
        for index, item in enumerate(data):
            if type(item) is list or type(item) is dict:
                data[index] = reconstruct(item, buffers)
        return data
    if type(data) is dict:
        if data.get("_placeholder") is True:
            num = data.get("num")
            if type(num) is not int or not 0 <= num < len(buffers):
                raise RemoteProtocolError(f"invalid attachment placeholder {num!r}")
            return buffers[num]
        for key, value in data.items():
            if type(value) is list or type(value) is dict:
                data[key] = reconstruct(value, buffers)
        return data
    return data
