"""A Socket.IO app for the SIGTERM test: ``uvicorn tests.hardening.shutdown_app:app``.

``burst(n)`` emits n events to the caller (without waiting for them to be written) and
acknowledges; every disconnect is printed as ``DISCONNECT <reason>``.
"""

from __future__ import annotations

import os

import sio_integrations as socketio

sio = socketio.AsyncServer(async_mode="asgi", ping_interval=20, ping_timeout=20)
_grace = os.environ.get("SHUTDOWN_GRACE", "")
app = socketio.ASGIApp(sio, shutdown_grace=float(_grace) if _grace else None)


@sio.event
async def burst(sid: str, count: int) -> int:
    for i in range(count):
        await sio.emit("n", i, to=sid)
    return count


@sio.event
def disconnect(sid: str, reason: str) -> None:
    print(f"DISCONNECT {reason}", flush=True)
