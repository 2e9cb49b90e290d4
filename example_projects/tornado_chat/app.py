"""A Tornado chat on sio_integrations.tornado: login, rooms, a live user list.

The login is Tornado's signed cookie (``set_signed_cookie`` with the application's
``cookie_secret``); ``BaseHandler.get_current_user()`` reads it for the pages and, mixed
into the Socket.IO handler, at the Socket.IO handshake (``socketio.get_handshake(environ)
.user``). Anonymous sockets are refused. The forms use ``xsrf_cookies``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import tornado.web

from sio_integrations.tornado import SocketIO, SocketIOHandler

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE / "node_modules" / "socket.io-client" / "dist"
COOKIE = "tornado_chat_user"
USERNAME = re.compile(r"^[a-z0-9_]{1,20}$")
PASSWORD = "chat"
# a fixed development secret keeps logins valid across restarts; set your own in production
SECRET = os.environ.get("TORNADO_CHAT_SECRET", "tornado-chat-development-secret")


class BaseHandler(tornado.web.RequestHandler):
    def get_current_user(self) -> str | None:
        value = self.get_signed_cookie(COOKIE)
        return value.decode() if value else None


class LoginHandler(BaseHandler):
    def get(self) -> None:
        self.render("login.html", error=None)

    def post(self) -> None:
        username = self.get_body_argument("username", "")
        if not USERNAME.match(username) or self.get_body_argument("password", "") != PASSWORD:
            self.render("login.html", error="Wrong username or password.")
            return
        self.set_signed_cookie(COOKIE, username, httponly=True, samesite="Lax")
        self.redirect("/", status=303)


class LogoutHandler(BaseHandler):
    def get(self) -> None:
        self.clear_cookie(COOKIE)
        self.redirect("/login")


class ChatHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render("chat.html")


class ChatSocket(SocketIOHandler, BaseHandler):
    """The Engine.IO endpoint, with the site's get_current_user()."""


def create_socketio() -> SocketIO:
    socketio = SocketIO()
    # sid -> (user, room)
    where: dict[str, tuple[str, str | None]] = {}

    def users_in(room: str) -> list[str]:
        return sorted({user for user, r in where.values() if r == room})

    async def announce_users(room: str | None) -> None:
        if room is not None:
            await socketio.emit("users", {"room": room, "users": users_in(room)}, to=room)

    @socketio.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        user = socketio.get_handshake(environ).user
        if user is None:
            raise tornado.web.HTTPError(401, "log in first")
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

    return socketio


def create_app() -> tuple[tornado.web.Application, SocketIO]:
    socketio = create_socketio()
    app = tornado.web.Application(
        [
            socketio.route(handler_class=ChatSocket),
            (r"/", ChatHandler),
            (r"/login", LoginHandler),
            (r"/logout", LogoutHandler),
            (r"/vendor/(socket\.io\.min\.js)", tornado.web.StaticFileHandler,
             {"path": str(CLIENT_DIR)}),
        ],
        cookie_secret=SECRET,
        login_url="/login",
        xsrf_cookies=True,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        socketio_ping_interval=10,
    )
    socketio.init_app(app)
    return app, socketio
