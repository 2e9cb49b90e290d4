"""A minimal app that follows the example page contract (docs/browser_tests.md), written on
the core ``ASGIApp`` with no web framework. It exists to prove the harness's generic adapter
on its own; the plugin examples follow the same contract with their host's machinery.

Login is a signed cookie (HMAC over the username). Unlike the real examples, the key is
random per process unless ``CONTRACT_APP_SECRET`` is set: a restart logs everyone out, which
keeps the harness's re-login path tested.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import sio_integrations as socketio

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SECRET = os.environ.get("CONTRACT_APP_SECRET", "").encode() or secrets.token_bytes(32)
COOKIE = "contract_user"
USERNAME = re.compile(r"^[a-z0-9_]{1,20}$")
PASSWORD = "chat"

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Log in</title><link rel="icon" href="data:,"></head><body>
<h1>Log in</h1>{error}
<form id="login-form" method="post" action="/login">
<input id="username" name="username" placeholder="username" autofocus>
<input id="password" name="password" type="password" placeholder="password">
<button type="submit">Log in</button></form></body></html>"""

CHAT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Contract chat</title><link rel="icon" href="data:,"></head><body>
<p>You are <b id="me">{user}</b> &middot; <span id="status">connecting</span>
&middot; room: <span id="room-name">(none)</span></p>
<form id="join-form"><input id="room" placeholder="room"><button>Join</button></form>
<ul id="messages"></ul>
<form id="send-form"><input id="text" placeholder="message"><button>Send</button></form>
<h2>Users</h2><ul id="users"></ul>
<script src="/static/socket.io.min.js"></script><script src="/static/chat.js"></script>
</body></html>"""


def sign(user: str) -> str:
    return hmac.new(SECRET, user.encode(), hashlib.sha256).hexdigest()


def user_from_cookie(header: str) -> str | None:
    cookie = SimpleCookie()
    try:
        cookie.load(header)
    except Exception:  # noqa: BLE001 - a malformed cookie header is just "not logged in"
        return None
    morsel = cookie.get(COOKIE)
    if morsel is None or "." not in morsel.value:
        return None
    user, signature = morsel.value.rsplit(".", 1)
    return user if hmac.compare_digest(sign(user), signature) else None


sio = socketio.AsyncServer(async_mode="asgi")
where: dict[str, tuple[str, str | None]] = {}  # sid -> (user, room)


def users_in(room: str) -> list[str]:
    return sorted({user for user, r in where.values() if r == room})


async def send_users(room: str | None) -> None:
    if room is not None:
        await sio.emit("users", {"room": room, "users": users_in(room)}, to=room)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    user = user_from_cookie(environ.get("HTTP_COOKIE", ""))
    if user is None:
        raise socketio.exceptions.ConnectionRefusedError("log in first")
    where[sid] = (user, None)


@sio.event
async def join(sid: str, room: Any) -> dict[str, Any]:
    if not isinstance(room, str) or not room.strip() or sid not in where:
        return {"ok": False}
    room = room.strip()[:40]
    user, previous = where[sid]
    if previous is not None:
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
        await sio.emit("message", {"room": room, "user": user, "text": text[:500]}, to=room)


@sio.event
async def disconnect(sid: str, reason: str = "") -> None:
    _, room = where.pop(sid, ("", None))
    await send_users(room)


async def respond(send: Any, status: int, body: str = "",
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-type", b"text/html; charset=utf-8"), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body.encode()})


async def read_form(receive: Any) -> dict[str, str]:
    body = b""
    for _ in range(64):  # a login form is small: bounded
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}


async def pages(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/login (GET form, POST check), / (the chat page, login required)."""
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    user = user_from_cookie(headers.get(b"cookie", b"").decode(errors="replace"))
    path, method = scope["path"], scope["method"]
    if path == "/login" and method == "POST":
        form = await read_form(receive)
        name = form.get("username", "")
        if USERNAME.match(name) and form.get("password") == PASSWORD:
            cookie = f"{COOKIE}={name}.{sign(name)}; Path=/; HttpOnly; SameSite=Lax"
            await respond(send, 303, headers=[(b"location", b"/"),
                                              (b"set-cookie", cookie.encode())])
        else:
            error = '<p id="login-error">Wrong username or password.</p>'
            await respond(send, 200, LOGIN_PAGE.format(error=error))
    elif path == "/login":
        await respond(send, 200, LOGIN_PAGE.format(error=""))
    elif path == "/" and user is None:
        await respond(send, 302, headers=[(b"location", b"/login")])
    elif path == "/" and user is not None:
        await respond(send, 200, CHAT_PAGE.format(user=html.escape(user)))
    else:
        await respond(send, 404, "not found")


app = socketio.ASGIApp(sio, pages, static_files={
    "/static/chat.js": {"filename": str(HERE / "static" / "chat.js"),
                        "content_type": "text/javascript; charset=utf-8"},
    "/static/socket.io.min.js": {"filename": str(CLIENT),
                                 "content_type": "text/javascript; charset=utf-8"},
})
