"""The chat's Socket.IO handlers (discovered at start-up, like admin.py).

Only logged-in Django users connect; a user is in at most one room at a time. Who is where
is kept in this process (one worker; with a channel layer use the server's cluster
operations instead).
"""

from __future__ import annotations

from typing import Any

from sio_integrations.django import get_user, login_required, sio

where: dict[str, tuple[str, str | None]] = {}  # sid -> (username, room)


def users_in(room: str) -> list[str]:
    return sorted({user for user, r in where.values() if r == room})


async def send_users(room: str | None) -> None:
    if room is not None:
        await sio.emit("users", {"room": room, "users": users_in(room)}, to=room)


@sio.event
@login_required  # anonymous sockets get connect_error "authentication required"
async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    where[sid] = (get_user(sid).username, None)  # the Django user from the session cookie


@sio.event
async def join(sid: str, room: Any) -> dict[str, Any]:
    if not isinstance(room, str) or not room.strip() or sid not in where:
        return {"ok": False}
    room = room.strip()[:40]
    user, previous = where[sid]
    if previous is not None and previous != room:
        await sio.leave_room(sid, previous)
    where[sid] = (user, room)
    await sio.enter_room(sid, room)
    if previous != room:
        await send_users(previous)
    await send_users(room)
    return {"ok": True, "room": room, "users": users_in(room)}


@sio.event
async def message(sid: str, text: Any) -> None:
    user, room = where.get(sid, ("", None))
    if room is not None and isinstance(text, str) and text.strip():
        await sio.emit("message", {"room": room, "user": user, "text": text.strip()[:500]},
                       to=room)


@sio.event
async def disconnect(sid: str, reason: str) -> None:
    _, room = where.pop(sid, ("", None))
    await send_users(room)
