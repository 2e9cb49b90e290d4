"""Demo chat on sio-integrations: nicknames, rooms, live user lists, acknowledged sends.

Run it with ``./scripts/demo.sh`` from the repository root, or by hand:

    pip install -e '.[asgi]'
    (cd example_projects/chat && npm install --no-package-lock)
    python example_projects/chat/app.py        # http://127.0.0.1:8000

``HOST`` and ``PORT`` override the address. Uses only the public, python-socketio shaped API
and the default in-memory manager (one process, no Redis).
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sio_integrations as socketio

HERE = Path(__file__).resolve().parent
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"

DEFAULT_ROOMS = ("lobby", "python", "random")
MAX_NICKNAME = 24
MAX_ROOM_NAME = 32
MAX_TEXT = 500
HISTORY = 50

sio = socketio.AsyncServer(async_mode="asgi")
app = socketio.ASGIApp(
    sio,
    static_files={
        "/": str(HERE / "static" / "index.html"),
        "/static": str(HERE / "static"),
        # The official browser client, installed from npm: no CDN, nothing fetched at runtime.
        "/vendor/socket.io.min.js": {
            "filename": str(CLIENT_DIST / "socket.io.min.js"),
            "content_type": "text/javascript; charset=utf-8",
        },
        "/vendor/socket.io.min.js.map": {
            "filename": str(CLIENT_DIST / "socket.io.min.js.map"),
            "content_type": "application/json",
        },
    },
)


@dataclass
class Room:
    """Who is in a room, and what was said there lately."""

    members: dict[str, str] = field(default_factory=dict)  # sid -> nickname
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))


rooms: dict[str, Room] = {name: Room() for name in DEFAULT_ROOMS}
nicknames: dict[str, str] = {}  # sid -> nickname, for every logged-in client
message_ids = itertools.count(1)


def clean(value: Any, limit: int) -> str:
    """A stripped string of at most ``limit`` characters, or '' for anything else."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def room_list() -> list[dict[str, Any]]:
    return [{"name": name, "users": len(room.members)} for name, room in sorted(rooms.items())]


def user_list(name: str) -> list[str]:
    return sorted(rooms[name].members.values(), key=str.casefold)


def room_of(sid: str) -> str | None:
    return next((name for name, room in rooms.items() if sid in room.members), None)


def new_message(room: str, nickname: str | None, text: str) -> dict[str, Any]:
    """A chat line; ``nickname`` None marks a system notice (joins and leaves)."""
    message = {
        "id": next(message_ids),
        "room": room,
        "nickname": nickname,
        "text": text,
        "ts": time.time(),
    }
    rooms[room].history.append(message)
    return message


async def broadcast_room_state(name: str) -> None:
    await sio.emit("users", {"room": name, "users": user_list(name)}, to=name)
    await sio.emit("rooms", room_list())


async def leave_current_room(sid: str) -> None:
    name = room_of(sid)
    if name is None:
        return
    nickname = rooms[name].members.pop(sid)
    await sio.leave_room(sid, name)
    await sio.emit("message", new_message(name, None, f"{nickname} left"), to=name)
    if not rooms[name].members and name not in DEFAULT_ROOMS:
        del rooms[name]  # rooms users created disappear when the last one leaves
    else:
        await sio.emit("users", {"room": name, "users": user_list(name)}, to=name)
    await sio.emit("rooms", room_list())


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    """Log in: the client connects with ``auth={"nickname": ...}``."""
    nickname = clean(auth.get("nickname") if isinstance(auth, dict) else None, MAX_NICKNAME)
    if not nickname:
        raise socketio.exceptions.ConnectionRefusedError("Pick a nickname first.")
    if nickname.casefold() in {n.casefold() for n in nicknames.values()}:
        raise socketio.exceptions.ConnectionRefusedError(f"{nickname!r} is already taken.")
    nicknames[sid] = nickname
    await sio.emit("rooms", room_list(), to=sid)


@sio.event
async def join(sid: str, data: Any) -> dict[str, Any]:
    """Move to a room (created on first join). The ack carries its users and history."""
    name = clean(data.get("room") if isinstance(data, dict) else data, MAX_ROOM_NAME).lower()
    if sid not in nicknames:
        return {"ok": False, "error": "not logged in"}
    if not name:
        return {"ok": False, "error": "a room needs a name"}
    if room_of(sid) != name:
        await leave_current_room(sid)
        room = rooms.setdefault(name, Room())
        room.members[sid] = nicknames[sid]
        await sio.enter_room(sid, name)
        await sio.emit("message", new_message(name, None, f"{nicknames[sid]} joined"), to=name)
        await broadcast_room_state(name)
    history = list(rooms[name].history)
    return {"ok": True, "room": name, "users": user_list(name), "history": history}


@sio.event
async def leave(sid: str) -> dict[str, Any]:
    await leave_current_room(sid)
    return {"ok": True}


@sio.event
async def message(sid: str, data: Any) -> dict[str, Any]:
    """Say something in the current room. The sender gets the stored line in the ack."""
    text = clean(data.get("text") if isinstance(data, dict) else data, MAX_TEXT)
    name = room_of(sid)
    if name is None:
        return {"ok": False, "error": "join a room first"}
    if not text:
        return {"ok": False, "error": "empty message"}
    line = new_message(name, nicknames[sid], text)
    await sio.emit("message", line, to=name, skip_sid=sid)
    return {"ok": True, "message": line}


@sio.event
async def disconnect(sid: str, reason: str = "") -> None:
    await leave_current_room(sid)
    nicknames.pop(sid, None)


def main() -> None:
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    if not (CLIENT_DIST / "socket.io.min.js").is_file():
        print("socket.io-client is missing: run `npm install --no-package-lock` in", HERE)
    print(f"Chat demo on http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    # no permessage-deflate, as socket.io's own default: chat messages are small, and
    # compressing them costs CPU (the direct websocket path speaks it either way)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("LOG_LEVEL", "warning"),
                ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
