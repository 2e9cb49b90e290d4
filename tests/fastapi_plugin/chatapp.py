"""The FastAPI application the plugin tests drive (a fresh one per test)."""

# no ``from __future__ import annotations``: FastAPI resolves the announce endpoint's
# annotation, which names the local ``router``, at definition time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.middleware.sessions import SessionMiddleware

from sio_integrations import AsyncServer
from sio_integrations.fastapi import SocketAuth, SocketHandshake, SocketID, SocketIORouter

TOKENS = {"t-alice": "alice", "t-bob": "bob"}


class Message(BaseModel):
    room: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=200)


class Delivered(BaseModel):
    room: str
    delivered: bool = True


class Login(BaseModel):
    token: str


def current_user(auth: SocketAuth) -> str:
    """The user named by the Socket.IO auth payload's bearer token."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if token not in TOKENS:
        raise HTTPException(status_code=401, detail="invalid token")
    return TOKENS[token]


User = Annotated[str, Depends(current_user)]


class Recorder:
    """What the handlers saw, for the tests to assert on."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closed: list[str] = []


def make_app(*, cors: dict[str, Any] | None = None, guard: bool = False,
             **router_options: Any) -> tuple[FastAPI, SocketIORouter, Recorder]:
    recorder = Recorder()

    def require_agent(user_agent: Annotated[str | None, Header()] = None) -> None:
        if user_agent == "blocked-agent":
            raise HTTPException(status_code=403, detail="agent not allowed")

    router = SocketIORouter(dependencies=[Depends(require_agent)] if guard else None,
                            **router_options)
    sio = router.sio

    def tracked() -> Iterator[str]:
        recorder.calls.append(("dependency", "enter"))
        yield "resource"
        recorder.closed.append("resource")

    @router.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any, user: User,
                      request: Request) -> None:
        recorder.calls.append(("connect", user))
        await sio.save_session(sid, {"user": user})
        if "session" in request.scope:
            recorder.calls.append(("http-session", dict(request.session)))

    @router.event
    async def join(sid: str, room: str) -> list[str]:
        await sio.enter_room(sid, room)
        return sio.rooms(sid)

    @router.event
    async def say(sid: str, message: Message, user: User) -> Delivered:
        """Send a message to a room."""
        recorder.calls.append(("say", message))
        await sio.emit("said", {"user": user, "room": message.room, "text": message.text},
                       to=message.room)
        return Delivered(room=message.room)

    @router.event
    async def add(sid: str, a: int, b: int) -> int:
        recorder.calls.append(("add", (a, b)))
        return a + b

    @router.event
    async def upload(sid: str, data: bytes, name: str = "file") -> dict[str, Any]:
        return {"name": name, "size": len(data), "echo": data[::-1]}

    @router.event
    async def whoami(sid: str, user: User, resource: Annotated[str, Depends(tracked)]
                     ) -> dict[str, str]:
        return {"user": user, "resource": resource}

    @router.event
    async def profile(sid: str, request: Request, handshake: SocketHandshake,
                      me: SocketID) -> dict[str, Any]:
        return {"session": dict(request.session), "same_sid": me == sid,
                "agent": handshake.headers.get("user-agent"),
                "token": handshake.extra["auth"].get("token")}

    router.emits("said", dict[str, str], description="a message said in a room")

    app = FastAPI(title="chat test", version="1.2.3")
    if cors is not None:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, **cors)
    app.add_middleware(SessionMiddleware, secret_key="test-secret")

    @app.post("/login")
    async def login(body: Login, request: Request) -> dict[str, str]:
        if body.token not in TOKENS:
            raise HTTPException(401, "invalid token")
        request.session["user"] = TOKENS[body.token]
        return {"user": TOKENS[body.token]}

    @app.post("/rooms/{room}/announce")
    async def announce(room: str, text: str,
                       server: Annotated[AsyncServer, Depends(router.get_server)]
                       ) -> dict[str, bool]:
        await server.emit("said", {"user": "system", "room": room, "text": text}, to=room)
        return {"ok": True}

    app.include_router(router)
    return app, router, recorder
