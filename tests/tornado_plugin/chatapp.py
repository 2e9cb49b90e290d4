"""A Tornado application with the plugin, used with ``tornado.testing`` and as a real
server (``serve.py``). Login is a signed ``user`` cookie (``cookie_secret``), read by the
handler's ``get_current_user()``; a signed ``theme`` cookie plays the session."""

from __future__ import annotations

import os
from typing import Any

import tornado.web

from sio_integrations.tornado import SocketIO, SocketIOHandler

SECRET = "tornado-test-secret"


class ChatSocket(SocketIOHandler):
    def get_current_user(self) -> str | None:
        value = self.get_signed_cookie("user")
        return value.decode() if value else None


class Index(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(f"tornado chat {os.getpid()}")


def make_app(handler_class: type[SocketIOHandler] = ChatSocket, socketio_options: Any = None,
             **settings: Any) -> tuple[tornado.web.Application, SocketIO]:
    socketio = SocketIO(**(socketio_options or {}))
    events: list[Any] = []

    @socketio.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        handshake = socketio.get_handshake(environ)
        if handshake.user is None:
            raise tornado.web.HTTPError(401, "login required")
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

    settings.setdefault("cookie_secret", SECRET)
    app = tornado.web.Application([socketio.route(handler_class=handler_class), (r"/", Index)],
                                  **settings)
    app.events = events  # type: ignore[attr-defined]
    return app, socketio


def signed(name: str, value: str, secret: str = SECRET) -> str:
    """A cookie value signed the way ``set_signed_cookie`` signs it."""
    return tornado.web.create_signed_value(secret, name, value).decode()
