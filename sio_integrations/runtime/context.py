"""What the server is handling right now, for plugins that wrap handlers.

A handler wrapper (the FastAPI plugin's validation, for instance) needs to know whether
the client asked for an acknowledgement: an invalid payload is answered with an error ack
when one is awaited, and with an ``error`` event otherwise.
"""

from __future__ import annotations

from contextvars import ContextVar

#: whether the event whose handler is running asked for an acknowledgement
_ack_wanted: ContextVar[bool] = ContextVar("sio_integrations_ack_wanted", default=False)


def ack_requested() -> bool:
    """True inside an event handler whose client asked for an acknowledgement."""
    return _ack_wanted.get()


def set_ack_id(ack_id: int | None) -> None:
    """Mark the event about to be handled (the server does this before every event).

    Never reset with a token: a handler started eagerly (runtime/eager.py) begins in the
    transport reader's context and may finish in a task's copy of it, so the value is
    simply overwritten before each event instead, and only when it changes (a
    ``ContextVar.set`` allocates; most clients ask for an ack always or never).
    """
    wanted = ack_id is not None
    if wanted is not _ack_wanted.get():
        _ack_wanted.set(wanted)
