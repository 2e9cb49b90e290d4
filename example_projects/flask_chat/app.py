"""A Flask chat: Flask-Login for the login, ``sio_integrations.flask`` for the socket.

Any username matching ``^[a-z0-9_]{1,20}$`` logs in with the password ``chat``; the user
exists from its first login. The login lives in Flask's signed session cookie (set
``FLASK_CHAT_SECRET`` in real deployments), so it survives a server restart.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, request, send_from_directory, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
)

from sio_integrations.flask import (
    ConnectionRefusedError,  # noqa: A004
    SocketIO,
    emit,
    join_room,
    leave_room,
)

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE / "node_modules" / "socket.io-client" / "dist"
USERNAME = re.compile(r"^[a-z0-9_]{1,20}$")
PASSWORD = "chat"

socketio = SocketIO()
login_manager = LoginManager()
login_manager.login_view = "login"


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.id = name


@login_manager.user_loader
def load_user(name: str) -> User | None:
    return User(name) if USERNAME.match(name) else None


# -- pages ------------------------------------------------------------------------------


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("FLASK_CHAT_SECRET", "flask-chat-dev-secret")
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    login_manager.init_app(app)
    socketio.init_app(app)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        error = False
        if request.method == "POST":
            name = request.form.get("username", "")
            if USERNAME.match(name) and request.form.get("password") == PASSWORD:
                login_user(User(name))
                return redirect(url_for("chat"))
            error = True
        return render_template("login.html", error=error)

    @app.route("/")
    @login_required
    def chat() -> Any:
        return render_template("chat.html", user=current_user.id)

    @app.route("/vendor/socket.io.min.js")
    def socketio_client() -> Any:
        # the npm package, installed next to this file (npm install --no-package-lock)
        return send_from_directory(CLIENT_DIR, "socket.io.min.js")

    return app


# -- Socket.IO --------------------------------------------------------------------------

_lock = threading.Lock()
#: sid -> (user, room) of every connected socket of this process
_where: dict[str, tuple[str, str | None]] = {}


def _users_in(room: str) -> list[str]:
    with _lock:
        return sorted({user for user, r in _where.values() if r == room})


def _send_users(room: str | None) -> None:
    if room is not None:
        emit("users", {"room": room, "users": _users_in(room)}, to=room)


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    # the page's own session cookie came with the handshake: Flask-Login reads it
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("log in first")
    with _lock:
        _where[request.sid] = (current_user.id, None)  # type: ignore[attr-defined]


@socketio.on("join")
def on_join(room: Any) -> dict[str, Any]:
    sid: str = request.sid  # type: ignore[attr-defined]
    if not isinstance(room, str) or not room.strip() or sid not in _where:
        return {"ok": False}
    room = room.strip()[:40]
    with _lock:
        user, previous = _where[sid]
        _where[sid] = (user, room)
    if previous is not None and previous != room:
        leave_room(previous)
        _send_users(previous)
    join_room(room)
    _send_users(room)
    return {"ok": True, "room": room, "users": _users_in(room)}


@socketio.on("message")
def on_message(text: Any) -> None:
    user, room = _where.get(request.sid, ("", None))  # type: ignore[attr-defined]
    if room is not None and isinstance(text, str) and text.strip():
        emit("message", {"room": room, "user": user, "text": text.strip()[:500]}, to=room)


@socketio.on("disconnect")
def on_disconnect(reason: str = "") -> None:
    with _lock:
        _, room = _where.pop(request.sid, ("", None))  # type: ignore[attr-defined]
    _send_users(room)


app = create_app()
