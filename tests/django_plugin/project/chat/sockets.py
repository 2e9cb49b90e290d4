"""Socket.IO handlers of the test project (discovered at start-up like admin.py)."""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth.models import User

from sio_integrations import exceptions
from sio_integrations.django import (
    Namespace,
    emit,
    get_http_session,
    get_scope,
    get_user,
    login_required,
    sio,
)

#: what handlers saw, for in-process tests
seen: dict[str, Any] = {}


@sio.event
@login_required
def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
    # a synchronous handler: runs in Django's thread, ORM allowed
    seen["connect_thread"] = threading.current_thread().name
    seen["connect_user"] = get_user(sid).username
    seen["users_in_db"] = User.objects.count()


@sio.event
def whoami(sid: str) -> dict[str, Any]:
    user = get_user(sid)
    scope = get_scope(sid)
    return {
        "user": user.username,
        "id": User.objects.get(username=user.username).pk,  # ORM in a sync handler
        "greeting": get_http_session(sid).get("greeting"),
        "channels": bool(scope and "url_route" in scope),
    }


@sio.event
async def awhoami(sid: str) -> dict[str, Any]:
    user = get_user(sid)
    count = await User.objects.filter(username=user.username).acount()  # async ORM
    return {"user": user.username, "count": count}


@sio.event
async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
    return args


@sio.event
def shout(sid: str, text: str) -> str:
    # the one-call emit() from synchronous code, here inside a sync handler
    emit("shouted", text.upper(), to=sid)
    return "done"


@sio.event
def session_set(sid: str, key: str, value: Any) -> bool:
    get_http_session(sid)[key] = value  # saved through the session store afterwards
    return True


@sio.event
async def asession_set(sid: str, key: str, value: Any) -> bool:
    get_http_session(sid)[key] = value
    return True


@sio.event
async def join(sid: str, room: str) -> list[str]:
    await sio.enter_room(sid, room)
    return sorted(sio.rooms(sid))


@sio.event
async def say(sid: str, room: str, text: str) -> None:
    await sio.emit("said", {"user": get_user(sid).username, "text": text}, to=room)


@sio.event
def disconnect(sid: str, reason: str) -> None:
    seen.setdefault("disconnected", []).append((get_user(sid).username, reason))


class Admin(Namespace):
    """A class-based namespace with a sync and an async method."""

    @login_required
    def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        if not get_user(sid, "/admin").is_staff:
            raise exceptions.ConnectionRefusedError("staff only")

    def on_count(self, sid: str) -> int:
        return User.objects.count()

    async def on_name(self, sid: str) -> str:
        return str(get_user(sid, "/admin").username)


sio.register_namespace(Admin("/admin"))
