"""A Sanic application with the plugin, used in process (sanic-testing) and as a real
server (``serve.py``).

Login is a ``user`` cookie naming a known user; the app's middleware puts the user and a
small session on ``request.ctx``, where the Socket.IO handlers find them.
"""

from __future__ import annotations

import os
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import Unauthorized
from sanic.response import HTTPResponse, text

from sio_integrations.sanic import SocketIO

USERS = {"alice", "bob", "carol"}


def make_app(name: str, **options: Any) -> tuple[Sanic, SocketIO]:
    app = Sanic(name)
    socketio = SocketIO(app, **options)
    events: list[Any] = []
    app.ctx.events = events

    @app.on_request
    async def authenticate(request: Request) -> None:
        user = request.cookies.get("user")
        request.ctx.user = user if user in USERS else None
        request.ctx.session = {"theme": request.cookies.get("theme", "light")}

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text(f"sanic chat {os.getpid()}")

    @socketio.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        handshake = socketio.get_handshake(environ)
        if handshake.user is None:
            raise Unauthorized("login required")
        if auth == {"refuse": True}:
            from sio_integrations.exceptions import ConnectionRefusedError as Refused

            raise Refused("refused by request", {"why": "asked"})
        await socketio.save_session(sid, {"user": handshake.user, "auth": auth})
        events.append(("connect", handshake.user))

    @socketio.event
    async def whoami(sid: str) -> dict[str, Any]:
        handshake = socketio.handshake(sid)
        session = await socketio.get_session(sid)
        return {"user": handshake.user, "session": handshake.session, "auth": session["auth"],
                "transport": socketio.server.transport(sid), "pid": os.getpid(),
                "remote_addr": handshake.remote_addr}

    @socketio.event
    async def join(sid: str, room: str) -> list[str]:
        await socketio.enter_room(sid, room)
        return sorted(socketio.rooms(sid))

    @socketio.event
    async def say(sid: str, message: dict[str, Any]) -> dict[str, Any]:
        session = await socketio.get_session(sid)
        said = {"user": session["user"], "room": message["room"], "text": message["text"]}
        await socketio.emit("said", said, to=message["room"], skip_sid=sid)
        return {"delivered": True}

    @socketio.event
    async def upload(sid: str, blob: bytes, name: str) -> dict[str, Any]:
        return {"name": name, "size": len(blob), "echo": bytes(reversed(blob))}

    @socketio.event
    async def broadcast(sid: str, text: str) -> None:
        await socketio.emit("news", {"text": text, "from_pid": os.getpid()})

    @socketio.on("disconnect")
    async def disconnect(sid: str, reason: str) -> None:
        events.append(("disconnect", reason))

    return app, socketio
