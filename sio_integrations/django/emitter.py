"""Emitting from anywhere in the project: views, signal handlers, commands, Celery tasks.

``emit("news", data, to="room")`` is one synchronous call; ``await aemit(...)`` its async
twin. In a process that serves Socket.IO it goes through that server (and its manager,
so with a channel layer it reaches every worker). In a process that does not (a management
command, a Celery worker) it is published on the channel layer (or ``MESSAGE_QUEUE``) by a
write-only emitter; without either it reaches the clients of this process only (none).
"""

from __future__ import annotations

from typing import Any

from ..errors import LocalProtocolError
from ..runtime._async.server import AsyncServer
from . import scaleout
from .bridge import in_event_loop
from .consumers import serving
from .server import sio


def emit(event: str, data: Any = None, *, to: Any = None, room: Any = None,
         skip_sid: Any = None, namespace: str | None = None) -> None:
    """Emit ``event`` to a sid, a room, a list of rooms or everyone, from sync code."""
    server = sio.server
    if not isinstance(server, AsyncServer):  # the WSGI server: already synchronous
        emitter = None if server in serving else scaleout.sync_external_emitter()
        target: Any = emitter if emitter is not None else server
        target.emit(event, data, to=to, room=room, skip_sid=skip_sid, namespace=namespace)
        return
    if in_event_loop():
        raise LocalProtocolError("emit() is for synchronous code: use await aemit(...)")
    from asgiref.sync import async_to_sync

    async_to_sync(aemit)(event, data, to=to, room=room, skip_sid=skip_sid,
                         namespace=namespace)


async def aemit(event: str, data: Any = None, *, to: Any = None, room: Any = None,
                skip_sid: Any = None, namespace: str | None = None) -> None:
    """Emit ``event`` from async code (see :func:`emit`)."""
    server = sio.server
    if not isinstance(server, AsyncServer):
        raise LocalProtocolError("aemit() needs the asyncio server; call emit()")
    emitter = None if server in serving else scaleout.external_emitter()
    if emitter is None:
        await server.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                          namespace=namespace)
        return
    # a new emitter per call: async_to_sync runs each call on a loop of its own, and
    # broker connections belong to the loop that opened them
    try:
        await emitter.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                           namespace=namespace)
    finally:
        await emitter.manager.shutdown()
