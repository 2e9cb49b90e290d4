"""Flask-SocketIO's handler conventions on top of the core server.

Flask handlers never receive the sid (it is ``request.sid``): ``connect([auth])``,
``disconnect([reason])``, ``event(*args)``; a catch-all event handler gets the event name
first; a catch-all namespace handler reads ``request.namespace``. The extension keeps its
handlers here (one registry, shared by every app it serves) and registers one small
core namespace object per namespace on each app's server, through which every call
arrives (``Server.register_namespace``, a public interface).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from ..errors import ConnectionRefusedError  # noqa: A004
from ..runtime._sync.namespace import Namespace as CoreNamespace
from ..runtime._sync.server import Server
from ..runtime.sockets import positional_capacity
from .bridge import (
    SocketRecord,
    event_context,
    follow_http_session,
    per_connection_sessions,
    session_cookie,
)
from .config import FlaskSettings

if TYPE_CHECKING:
    from .namespace import Namespace

logger = logging.getLogger("sio_integrations.flask")

Handler = Callable[..., Any]
ErrorHandler = Callable[[Exception], Any]

#: events whose handlers have fixed signatures and no catch-all
_LIFECYCLE = ("connect", "disconnect")


class Registry:
    """The handlers of one ``SocketIO`` extension (function and class based)."""

    def __init__(self) -> None:
        #: namespace ('*': all) -> event ('*': all) -> handler
        self.functions: dict[str, dict[str, Handler]] = {}
        #: namespace ('*': all) -> class-based namespace
        self.classes: dict[str, Namespace] = {}
        self.error_handlers: dict[str, ErrorHandler] = {}
        #: run before every handler except ``disconnect`` (see SocketIO.before_event)
        self.before_event: list[Callable[[], Any]] = []
        self.default_error_handler: ErrorHandler | None = None

    def namespaces(self) -> set[str]:
        return set(self.functions) | set(self.classes)

    def find(self, event: str, namespace: str) -> tuple[Handler | None, bool]:
        """The handler of ``event`` in ``namespace`` and whether it wants the event name.

        Order: the namespace's own handler, its catch-all, the catch-all namespace's
        handler, its catch-all, then class-based namespaces (the namespace's, then '*').
        """
        for ns in (namespace, "*"):
            handlers = self.functions.get(ns)
            if handlers is None:
                continue
            handler = handlers.get(event)
            if handler is not None:
                return handler, False
            if event not in _LIFECYCLE:
                handler = handlers.get("*")
                if handler is not None:
                    return handler, True
        for ns in (namespace, "*"):
            obj = self.classes.get(ns)
            if obj is not None:
                return _ClassHandler(obj, event), False
        return None, False

    def error_handler(self, namespace: str) -> ErrorHandler | None:
        return self.error_handlers.get(namespace, self.default_error_handler)


class _ClassHandler:
    """Calls ``on_<event>`` of a class-based namespace (nothing when it has none)."""

    def __init__(self, obj: Namespace, event: str) -> None:
        self.obj = obj
        self.event = event

    def __call__(self, *args: Any) -> Any:
        return self.obj.trigger_event(self.event, *args)

    @property
    def capacity(self) -> int:
        method = getattr(self.obj, "on_" + self.event, None)
        return positional_capacity(method) if method is not None else 0


@dataclasses.dataclass(eq=False)
class AppState:
    """One Flask application served by a ``SocketIO`` extension."""

    app: Flask
    server: Server
    settings: FlaskSettings
    registry: Registry
    socketio: Any  # the SocketIO extension (typed Any: extension.py imports this module)
    records: dict[str, SocketRecord] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    mounted: set[str] = dataclasses.field(default_factory=set)

    # -- Flask-SocketIO kept the extension in app.extensions: its emitting API works here

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        self.socketio.emit(event, *args, app=self.app, **kwargs)

    def send(self, data: Any, **kwargs: Any) -> None:
        self.socketio.send(data, app=self.app, **kwargs)

    def call(self, event: str, *args: Any, **kwargs: Any) -> Any:
        return self.socketio.call(event, *args, app=self.app, **kwargs)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self.socketio.close_room(room, namespace=namespace, app=self.app)

    def start_background_task(self, target: Handler, *args: Any, **kwargs: Any) -> Any:
        return self.server.start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        self.server.sleep(seconds)

    @property
    def per_connection_sessions(self) -> bool:
        return per_connection_sessions(self.app, self.settings.manage_session)

    def on_http_response(self, sender: Any, response: Any, **extra: Any) -> None:
        """``request_finished`` of the app: cookie sessions changed over HTTP reach the
        open sockets of the same browser (see bridge.follow_http_session)."""
        if not self.records or not isinstance(self.app.session_interface,
                                              SecureCookieSessionInterface):
            return
        if not self.per_connection_sessions:
            return  # manage_session=False: the session is read from the handshake only
        with self.lock:
            records = list(self.records.values())
        follow_http_session(self.app, records, response)

    def mount_namespaces(self) -> None:
        """Register the core namespace object of every namespace that has handlers."""
        for namespace in sorted(self.registry.namespaces() - self.mounted):
            self.mounted.add(namespace)
            self.server.register_namespace(_Mount(self, namespace))

    # -- dispatch -------------------------------------------------------------------------

    def dispatch(self, event: str, namespace: str, sid: str, args: tuple[Any, ...]) -> Any:
        if event == "connect":
            environ, auth = args
            record = SocketRecord(sid=sid, namespace=namespace, environ=environ, auth=auth,
                                  cookie=session_cookie(self.app, environ))
            with self.lock:
                self.records[sid] = record
            try:
                accepted = self._run(record, "connect", (auth,))
            except BaseException:
                self._forget(sid)
                raise
            if accepted is False:
                self._forget(sid)
            return accepted
        if event == "disconnect":
            leaving = self.records.get(sid)
            if leaving is None:
                return None
            try:
                return self._run(leaving, "disconnect", args[:1])
            finally:  # after the handler: the test client waits for the record to go
                self._forget(sid)
        found = self._record(sid, namespace)
        if found is None:
            return None
        return self._run(found, event, args)

    def run_callback(self, sid: str, namespace: str, callback: Handler,
                     args: tuple[Any, ...]) -> Any:
        """Run an emit's acknowledgement callback in the context of the socket that emitted."""
        found = self._record(sid, namespace)
        if found is None:
            return callback(*args)
        with event_context(self.app, found, None, args,
                           per_connection=self.per_connection_sessions):
            return callback(*args)

    def record(self, sid: str, namespace: str) -> SocketRecord | None:
        return self._record(sid, namespace)

    def _record(self, sid: str, namespace: str) -> SocketRecord | None:
        record = self.records.get(sid)
        if record is not None:
            return record
        environ = self.server.get_environ(sid, namespace)
        if environ is None:
            return None
        return SocketRecord(sid=sid, namespace=namespace, environ=environ)

    def _forget(self, sid: str) -> SocketRecord | None:
        with self.lock:
            return self.records.pop(sid, None)

    def _run(self, record: SocketRecord, event: str, args: tuple[Any, ...]) -> Any:
        handler, wants_name = self.registry.find(event, record.namespace)
        hooks = self.registry.before_event if event != "disconnect" else []
        if handler is None and not hooks:
            return None
        call_args = (event, *args) if wants_name else args
        if handler is not None and event in _LIFECYCLE:
            # connect(auth) or connect(); disconnect(reason) or disconnect()
            capacity = (handler.capacity if isinstance(handler, _ClassHandler)
                        else positional_capacity(handler))
            call_args = call_args[:capacity]
        with event_context(self.app, record, event, args,
                           per_connection=self.per_connection_sessions):
            try:
                for hook in hooks:
                    verdict = hook()
                    if verdict is not None:  # the event stops here
                        return False if event == "connect" else verdict
                return handler(*call_args) if handler is not None else None
            except ConnectionRefusedError:
                raise
            except Exception as exc:
                on_error = self.registry.error_handler(record.namespace)
                if on_error is None:
                    raise
                result = on_error(exc)
                # a connect handler that failed never accepts the connection
                return False if event == "connect" else result


class _Mount(CoreNamespace):
    """The core's view of one namespace: every call goes to :meth:`AppState.dispatch`."""

    def __init__(self, state: AppState, namespace: str) -> None:
        super().__init__(namespace)
        self._state = state

    def trigger_event(self, event: str, *args: Any) -> Any:
        if self.namespace == "*":
            namespace, sid, rest = args[0], args[1], args[2:]
        else:
            namespace, sid, rest = self.namespace, args[0], args[1:]
        return self._state.dispatch(event, namespace, sid, tuple(rest))
