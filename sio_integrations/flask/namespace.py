"""Class-based namespaces in Flask-SocketIO's style (methods without the sid)."""

from __future__ import annotations

from typing import Any

from . import context


class Namespace:
    """Handlers grouped in a class: ``on_<event>(self, *args)`` handles ``<event>``.

    As in function handlers, the sid is ``request.sid``; ``on_connect(self[, auth])`` and
    ``on_disconnect(self[, reason])``. Register with ``socketio.on_namespace(MyNs("/chat"))``.
    The helpers default to this namespace; ``emit`` and ``send`` without ``to`` address
    every client of the namespace (as Flask-SocketIO's do).
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.socketio: Any = None

    def _set_socketio(self, socketio: Any) -> None:
        self.socketio = socketio

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>`` if defined; its result is the acknowledgement."""
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return None
        return handler(*args)

    def _ext(self) -> Any:
        if self.socketio is None:
            raise RuntimeError("namespace is not registered (socketio.on_namespace(...))")
        return self.socketio

    def emit(self, event: str, *args: Any, to: Any = None, room: Any = None,
             include_self: bool = True, namespace: str | None = None,
             callback: Any = None, skip_sid: Any = None) -> None:
        """Emit to a sid or room of this namespace, or to all its clients."""
        self._ext().emit(event, *args, to=to, room=room, include_self=include_self,
                         namespace=namespace or self.namespace, callback=callback,
                         skip_sid=skip_sid)

    def send(self, data: Any, to: Any = None, room: Any = None, include_self: bool = True,
             namespace: str | None = None, callback: Any = None) -> None:
        """Send a ``message`` event (see :meth:`emit`)."""
        self._ext().send(data, to=to, room=room, include_self=include_self,
                         namespace=namespace or self.namespace, callback=callback)

    def call(self, event: str, *args: Any, to: str | None = None,
             namespace: str | None = None, timeout: float = 60) -> Any:
        """Emit to one client (default: the current one) and wait for its acknowledgement."""
        return context.call(event, *args, to=to, namespace=namespace or self.namespace,
                            timeout=timeout)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._ext().close_room(room, namespace=namespace or self.namespace)

    def join_room(self, room: str, sid: str | None = None) -> None:
        context.join_room(room, sid=sid, namespace=self.namespace)

    def leave_room(self, room: str, sid: str | None = None) -> None:
        context.leave_room(room, sid=sid, namespace=self.namespace)

    def rooms(self, sid: str | None = None) -> list[str]:
        return context.rooms(sid=sid, namespace=self.namespace)

    def disconnect(self, sid: str | None = None, namespace: str | None = None) -> None:
        context.disconnect(sid=sid, namespace=namespace or self.namespace)
