"""What the server is handling right now, for plugins that wrap handlers.

A handler wrapper (the FastAPI plugin's validation, for instance) needs to know whether
the client asked for an acknowledgement: an invalid payload is answered with an error ack
when one is awaited, and with an ``error`` event otherwise.
"""

from __future__ import annotations

from contextvars import ContextVar

#: the ack id of the event whose handler is running (None: no ack requested, or no event)
_current_ack_id: ContextVar[int | None] = ContextVar("sio_integrations_ack_id", default=None)


def ack_requested() -> bool:
    """True inside an event handler whose client asked for an acknowledgement."""
    return _current_ack_id.get() is not None


def set_ack_id(ack_id: int | None) -> None:
    """Mark the event about to be handled (the server calls this before every event).

    Never reset with a token: a handler started eagerly (runtime/eager.py) begins in the
    transport reader's context and may finish in a task's copy of it, so the value is
    simply overwritten before each event instead.
    """
    _current_ack_id.set(ack_id)


#: :func:`set_ack_id` without the Python call around it (the server's per-event path)
set_ack_id_now = _current_ack_id.set
