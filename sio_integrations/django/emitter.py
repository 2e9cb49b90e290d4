"""Emitting from anywhere in the project: views, signal handlers, commands, Celery tasks.

``emit("news", data, to="room")`` is one synchronous call; ``await aemit(...)`` its async
twin. In a process that serves Socket.IO it goes through that server (and its manager,
so with a channel layer it reaches every worker). In a process that does not (a management
command, a Celery worker) it is published on the channel layer by a write-only manager;
without a channel layer it reaches the clients of this process only.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import LocalProtocolError
from ..runtime._async.server import AsyncServer
from . import scaleout
from .bridge import in_event_loop
from .consumers import serving
from .server import sio

_emitters: dict[str, Any] = {}
_lock = threading.Lock()



def emit(event: str, data: Any = None, *, to: Any = None, room: Any = None,
         skip_sid: Any = None, namespace: str | None = None) -> None:
    """Emit ``event`` to a sid, a room, a list of rooms or everyone, from sync code."""
    server = sio.server
    if not isinstance(server, AsyncServer):  # the WSGI server: already synchronous
        server.emit(event, data, to=to, room=room, skip_sid=skip_sid, namespace=namespace)
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
    if server in serving:
        await server.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                          namespace=namespace)
        return
    emitter = _external_emitter()
    if emitter is None:
        # no channel layer: only this process's own clients (if any) can be reached
        await server.emit(event, data, to=to, room=room, skip_sid=skip_sid,
                          namespace=namespace)
        return
    await emitter.emit(event, data, namespace=namespace or "/", room=to or room,
                       skip_sid=skip_sid)


def _external_emitter() -> Any:
    """A write-only manager on the channel layer (one per layer alias), or None."""
    alias = scaleout.channel_layer_alias()
    if alias is None:
        return None
    with _lock:
        manager = _emitters.get(alias)
        if manager is None:
            manager = scaleout.client_manager(is_async=True, write_only=True)
            _emitters[alias] = manager
    return manager


def reset() -> None:
    """Forget the emitters (settings changed)."""
    with _lock:
        _emitters.clear()
