"""Context functions: ``emit``, ``send``, ``join_room``... inferring sid and namespace.

Inside a Socket.IO handler they default to the client and namespace of the event being
handled (``request.sid``, ``request.namespace``). In an HTTP view or a thread with an app
context they work too, given an explicit target (``to=`` or ``broadcast=True``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context, has_request_context, request

from ..handshake import Handshake
from .bridge import handshake

EXTENSION_KEY = "socketio"


def current_state() -> Any:
    """The ``AppState`` of the current Flask application."""
    if not has_app_context():
        raise RuntimeError("no Flask application context: use socketio.emit(...) from "
                           "background threads, or push app.app_context()")
    state = current_app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError("SocketIO is not initialised for this application "
                           "(SocketIO(app) or socketio.init_app(app))")
    return state


def current_sid() -> str | None:
    """The sid of the client whose event is being handled, or None outside handlers."""
    if not has_request_context():
        return None
    sid = getattr(request, "sid", None)
    return sid if isinstance(sid, str) else None


def current_namespace() -> str | None:
    """The namespace of the event being handled, or None outside handlers."""
    if not has_request_context():
        return None
    namespace = getattr(request, "namespace", None)
    return namespace if isinstance(namespace, str) else None


def current_handshake() -> Handshake:
    """The :class:`~sio_integrations.handshake.Handshake` of the current socket.

    Headers, query, remote address and cookies of the opening request; ``user``
    (Flask-Login's ``current_user``) and ``session`` as this event sees them;
    ``extra["auth"]``: what the client sent when it connected.
    """
    sid, namespace = current_sid(), current_namespace()
    if sid is None or namespace is None:
        raise RuntimeError("current_handshake() is only available in Socket.IO handlers")
    record = current_state().record(sid, namespace)
    return handshake(record.auth if record is not None else None)


def _sid_or_fail(sid: str | None, what: str) -> str:
    sid = sid or current_sid()
    if sid is None:
        raise RuntimeError(f"{what} outside a Socket.IO handler needs sid=...")
    return sid


def emit(event: str, *args: Any, namespace: str | None = None, to: Any = None,
         room: Any = None, include_self: bool = True, skip_sid: Any = None,
         callback: Any = None, broadcast: bool = False, ignore_queue: bool = False) -> None:
    """Emit ``event`` with ``args`` (several arguments arrive as several in the client).

    Without ``to``/``room`` and ``broadcast`` the event goes back to the client whose event
    is being handled. ``include_self=False`` skips that client when addressing a room or
    broadcasting. ``callback`` receives the client's acknowledgement arguments.
    """
    target = to if to is not None else room
    if target is None and not broadcast:
        target = current_sid()
        if target is None:
            raise RuntimeError("emit() outside a Socket.IO handler needs to=... or "
                               "broadcast=True")
    current_state().socketio.emit(
        event, *args, namespace=namespace or current_namespace() or "/", to=target,
        include_self=include_self, skip_sid=skip_sid, callback=callback,
        ignore_queue=ignore_queue)


def send(message: Any, json: bool = False, namespace: str | None = None, to: Any = None,
         room: Any = None, include_self: bool = True, skip_sid: Any = None,
         callback: Any = None, broadcast: bool = False, ignore_queue: bool = False) -> None:
    """Send a ``message`` event (``json`` is accepted for compatibility and ignored)."""
    emit("message", message, namespace=namespace, to=to, room=room,
         include_self=include_self, skip_sid=skip_sid, callback=callback,
         broadcast=broadcast, ignore_queue=ignore_queue)


def call(event: str, *args: Any, namespace: str | None = None, to: str | None = None,
         timeout: float = 60, ignore_queue: bool = False) -> Any:
    """Emit to one client (default: the current one) and return its acknowledgement.

    Raises ``TimeoutError`` when none arrives within ``timeout`` seconds.
    """
    return current_state().socketio.call(
        event, *args, namespace=namespace or current_namespace() or "/",
        to=_sid_or_fail(to, "call()"), timeout=timeout, ignore_queue=ignore_queue)


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Put the current client (or ``sid``) in ``room``."""
    current_state().server.enter_room(_sid_or_fail(sid, "join_room()"), room,
                                      namespace=namespace or current_namespace() or "/")


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the current client (or ``sid``) out of ``room``."""
    current_state().server.leave_room(_sid_or_fail(sid, "leave_room()"), room,
                                      namespace=namespace or current_namespace() or "/")


def close_room(room: str, namespace: str | None = None) -> None:
    """Take every client out of ``room``."""
    current_state().server.close_room(room, namespace=namespace or current_namespace() or "/")


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms of the current client (or ``sid``), its own sid room included."""
    result: list[str] = current_state().server.rooms(
        _sid_or_fail(sid, "rooms()"), namespace=namespace or current_namespace() or "/")
    return result


def disconnect(sid: str | None = None, namespace: str | None = None,
               silent: bool = False) -> None:
    """Disconnect the current client (or ``sid``) from the namespace.

    ``silent`` is accepted for compatibility: the client is always told.
    """
    current_state().server.disconnect(_sid_or_fail(sid, "disconnect()"),
                                      namespace=namespace or current_namespace() or "/")
