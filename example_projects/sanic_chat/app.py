"""A Sanic chat on sio_integrations.sanic: login, rooms, a live user list.

The login is a signed cookie set by ``POST /login``; an ``on_request`` middleware turns it
into ``request.ctx.user`` for pages and, at the Socket.IO handshake, for the socket
handlers (``socketio.get_handshake(environ).user``). Anonymous sockets are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
from pathlib import Path
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import Unauthorized
from sanic.response import HTTPResponse, redirect
from sanic.response import html as html_response

from sio_integrations.sanic import SocketIO

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
COOKIE = "sanic_chat_user"
USERNAME = re.compile(r"^[a-z0-9_]{1,20}$")
PASSWORD = "chat"
# a fixed development secret keeps logins valid across restarts; set your own in production
SECRET = os.environ.get("SANIC_CHAT_SECRET", "sanic-chat-development-secret").encode()


def sign(user: str) -> str:
    return f"{user}.{hmac.new(SECRET, user.encode(), hashlib.sha256).hexdigest()}"


def verify(value: str | None) -> str | None:
    if not value or "." not in value:
        return None
    user, _ = value.rsplit(".", 1)
    return user if USERNAME.match(user) and hmac.compare_digest(sign(user), value) else None


def create_app(name: str = "sanic_chat") -> Sanic:
    app = Sanic(name)
    app.config.SOCKETIO_PING_INTERVAL = 10
    socketio = SocketIO(app)
    # sid -> (user, room); this example runs one worker (use a message queue for more)
    where: dict[str, tuple[str, str | None]] = {}

    app.static("/static", HERE / "static", name="static")
    app.static("/vendor/socket.io.min.js", CLIENT, name="client",
               content_type="text/javascript; charset=utf-8")

    @app.on_request
    async def authenticate(request: Request) -> None:
        request.ctx.user = verify(request.cookies.get(COOKIE))

    def page(filename: str, **slots: str) -> HTTPResponse:
        text = (HERE / "static" / filename).read_text()
        for slot, value in slots.items():
            text = text.replace(f"<!--{slot}-->", value)
        return html_response(text)

    @app.get("/login")
    async def login_form(request: Request) -> HTTPResponse:
        return page("login.html")

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        username = request.form.get("username", "")
        if not USERNAME.match(username) or request.form.get("password") != PASSWORD:
            return page("login.html",
                        error='<p id="login-error">Wrong username or password.</p>')
        response = redirect("/", status=303)
        response.add_cookie(COOKIE, sign(username), httponly=True, samesite="Lax",
                            secure=False)
        return response

    @app.get("/logout")
    async def logout(request: Request) -> HTTPResponse:
        response = redirect("/login")
        response.delete_cookie(COOKIE)
        return response

    @app.get("/")
    async def chat(request: Request) -> HTTPResponse:
        if request.ctx.user is None:
            return redirect("/login")
        return page("chat.html", user=html.escape(request.ctx.user))

    def users_in(room: str) -> list[str]:
        return sorted({user for user, r in where.values() if r == room})

    async def announce_users(room: str | None) -> None:
        if room is not None:
            await socketio.emit("users", {"room": room, "users": users_in(room)}, to=room)

    @socketio.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        user = socketio.get_handshake(environ).user
        if user is None:
            raise Unauthorized("log in first")
        where[sid] = (user, None)

    @socketio.event
    async def join(sid: str, room: Any) -> dict[str, Any]:
        if not isinstance(room, str) or not room.strip() or sid not in where:
            return {"ok": False}
        room = room.strip()[:40]
        user, previous = where[sid]
        if previous is not None and previous != room:
            await socketio.leave_room(sid, previous)
        where[sid] = (user, room)
        await socketio.enter_room(sid, room)
        if previous != room:
            await announce_users(previous)
        await announce_users(room)
        return {"ok": True, "room": room, "users": users_in(room)}

    @socketio.event
    async def message(sid: str, text: Any) -> None:
        user, room = where.get(sid, ("", None))
        if room is not None and isinstance(text, str) and text.strip():
            await socketio.emit("message", {"room": room, "user": user, "text": text[:500]},
                                to=room)

    @socketio.on("disconnect")
    async def disconnect(sid: str, reason: str) -> None:
        _, room = where.pop(sid, ("", None))
        await announce_users(room)

    return app
