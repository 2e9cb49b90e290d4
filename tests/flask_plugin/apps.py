"""Flask applications used by the plugin's tests: Flask-Login users, optional Flask-Session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from sio_integrations.flask import SocketIO, authenticated_only, emit, join_room

#: users that exist (the loader refuses others, so a deleted user is anonymous)
USERS = {"alice", "bob"}


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.id = name


def make_app(*, server_session_dir: Path | None = None, socketio: SocketIO | None = None,
             **config: Any) -> tuple[Flask, SocketIO]:
    """A Flask app with /login/<name>, /logout, /whoami and Socket.IO handlers.

    With ``server_session_dir`` the session lives in Flask-Session's cachelib filesystem
    store; otherwise it is Flask's signed cookie.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test-secret"
    app.config.update(config)
    if server_session_dir is not None:
        from cachelib.file import FileSystemCache
        from flask_session import Session

        app.config["SESSION_TYPE"] = "cachelib"
        app.config["SESSION_CACHELIB"] = FileSystemCache(str(server_session_dir), threshold=0)
        Session(app)
    login = LoginManager(app)

    @login.user_loader
    def load_user(name: str) -> User | None:
        return User(name) if name in USERS else None

    @app.route("/login/<name>")
    def do_login(name: str) -> str:
        login_user(User(name))
        return "ok"

    @app.route("/logout")
    def do_logout() -> str:
        logout_user()
        return "bye"

    @app.route("/session")
    def read_session() -> dict[str, Any]:
        return {"counter": session.get("counter"), "note": session.get("note")}

    @app.route("/note/<text>")
    def write_note(text: str) -> str:
        session["note"] = text
        return "ok"

    sio = socketio or SocketIO()
    sio.init_app(app)
    return app, sio


def register_handlers(sio: SocketIO) -> None:
    """Handlers exercising the request context, the session and Flask-Login."""

    @sio.on("connect")
    def connect(auth: Any = None) -> Any:
        if auth == {"refuse": True}:
            return False
        g.connected_here = True
        return None

    @sio.on("whoami")
    def whoami() -> Any:
        return {
            "user": current_user.id if current_user.is_authenticated else None,
            "sid": request.sid,
            "namespace": request.namespace,
            "event": request.event["message"],
            "g_leak": getattr(g, "connected_here", False),
        }

    @sio.on("count")
    def count() -> int:
        session["counter"] = session.get("counter", 0) + 1
        return int(session["counter"])

    @sio.on("read_note")
    def read_note() -> Any:
        return session.get("note")

    @sio.on("secret")
    @authenticated_only
    def secret() -> str:
        return f"secret for {current_user.id}"

    @sio.on("soft_secret")
    @authenticated_only(disconnect=False)
    def soft_secret() -> str:
        return "soft"

    @sio.on("join")
    def join(room: str) -> list[str]:
        join_room(room)
        emit("joined", room, to=room)
        return sorted(sio.get_server().rooms(request.sid))
