"""FastAPI chat on sio-integrations: token login, rooms, validated messages, a web page.

    pip install -e '.[fastapi]'
    (cd example_projects/fastapi_chat && npm install --no-package-lock)
    uvicorn example_projects.fastapi_chat.app:app          # http://127.0.0.1:8000

``POST /login`` exchanges a nickname for a bearer token; the page passes it as the
Socket.IO ``auth`` payload and a FastAPI dependency turns it into the user. Events are
validated with Pydantic models and documented at ``/asyncapi.json``.
"""

from __future__ import annotations

import secrets
from collections import deque
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from sio_integrations import AsyncServer
from sio_integrations.fastapi import SocketAuth, SocketIORouter

HERE = Path(__file__).resolve().parent
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"
ROOMS = ("lobby", "python", "random")
HISTORY = 50

#: token -> nickname (a real application would use its user store and signed tokens)
tokens: dict[str, str] = {}
history: dict[str, deque[dict[str, str]]] = {room: deque(maxlen=HISTORY) for room in ROOMS}
#: room -> {sid: nickname}: who is in each room, for the live user lists
members: dict[str, dict[str, str]] = {room: {} for room in ROOMS}


class LoginRequest(BaseModel):
    nickname: str = Field(min_length=1, max_length=24, pattern=r"^[\w.-]+$")


class LoginReply(BaseModel):
    token: str
    nickname: str


class Join(BaseModel):
    room: str = Field(pattern="^(" + "|".join(ROOMS) + ")$")


class Say(BaseModel):
    room: str
    text: str = Field(min_length=1, max_length=500)


class Said(BaseModel):
    room: str
    nickname: str
    text: str


class RoomUsers(BaseModel):
    room: str
    users: list[str]


def current_user(auth: SocketAuth) -> str:
    """The nickname of the bearer token in the Socket.IO auth payload."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if token not in tokens:
        raise HTTPException(status_code=401, detail="please log in again")
    return tokens[token]


User = Annotated[str, Depends(current_user)]

socket_router = SocketIORouter(asyncapi_title="FastAPI chat", asyncapi_version="1.0.0")
sio = socket_router.sio
Server = Annotated[AsyncServer, Depends(socket_router.get_server)]


@socket_router.on("connect")
async def connect(sid: str, environ: Any, auth: Any, user: User) -> None:
    await sio.save_session(sid, {"nickname": user})


async def send_users(room: str) -> None:
    """Tell everyone in ``room`` who is there now (sorted, each nickname once)."""
    users = RoomUsers(room=room, users=sorted(set(members[room].values())))
    await sio.emit("users", users.model_dump(), to=room)


async def leave_rooms(sid: str, keep: str | None = None) -> None:
    for room in ROOMS:
        if room != keep and members[room].pop(sid, None) is not None:
            await sio.leave_room(sid, room)
            await send_users(room)


@socket_router.event
async def join(sid: str, choice: Join, user: User) -> list[dict[str, str]]:
    """Enter a room (leaving the others); the acknowledgement is the room's history."""
    await leave_rooms(sid, keep=choice.room)
    await sio.enter_room(sid, choice.room)
    if sid not in members[choice.room]:
        members[choice.room][sid] = user
        await sio.emit("joined", {"room": choice.room, "nickname": user}, to=choice.room,
                       skip_sid=sid)
    await send_users(choice.room)
    return list(history[choice.room])


@socket_router.on("disconnect")
async def disconnect(sid: str, reason: str) -> None:
    await leave_rooms(sid)


@socket_router.event
async def say(sid: str, message: Say, user: User) -> Said:
    """Say something in a room you are in."""
    if message.room not in sio.rooms(sid):
        raise HTTPException(status_code=403, detail="join the room first")
    said = Said(room=message.room, nickname=user, text=message.text)
    history[message.room].append(said.model_dump())
    await sio.emit("said", said.model_dump(), to=message.room, skip_sid=sid)
    return said


socket_router.emits("said", Said, description="a message said in your room")
socket_router.emits("joined", dict[str, str], description="someone entered your room")
socket_router.emits("users", RoomUsers, description="who is in your room now")

app = FastAPI(title="FastAPI chat")
app.include_router(socket_router)


@app.post("/login")
async def login(body: LoginRequest) -> LoginReply:
    token = secrets.token_urlsafe(24)
    tokens[token] = body.nickname
    return LoginReply(token=token, nickname=body.nickname)


@app.get("/rooms")
async def rooms() -> list[str]:
    return list(ROOMS)


@app.post("/rooms/{room}/announce")
async def announce(room: str, text: str, server: Server) -> dict[str, bool]:
    """Post a system message to a room from plain HTTP."""
    if room not in ROOMS:
        raise HTTPException(404, "no such room")
    said = Said(room=room, nickname="system", text=text)
    await server.emit("said", said.model_dump(), to=room)
    return {"ok": True}


@app.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(HERE / "static" / "index.html")


app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
# the official browser client from npm's dist folder: no CDN, nothing fetched at runtime
app.mount("/vendor", StaticFiles(directory=CLIENT_DIST, check_dir=False), name="vendor")

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
