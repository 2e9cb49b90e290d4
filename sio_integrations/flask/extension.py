"""``SocketIO``: the Flask extension (``SocketIO(app)`` or ``SocketIO()`` + ``init_app``).

Each application gets its own :class:`~sio_integrations.Server`, configured from its
``app.config`` (see config.py) and mounted in front of ``app.wsgi_app`` at
``/socket.io/``; its :class:`AppState` is ``app.extensions["socketio"]``. Handlers are
registered on the extension, so one extension object may serve several applications
(an app factory called twice, say) and handlers added later reach every one of them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app, has_app_context, request_finished

from ..runtime._sync.pubsub_managers import Emitter
from ..runtime._sync.server import Server
from ..runtime.handlers import event_decorator
from ..runtime.wsgi import WSGIApp
from . import context
from .config import FlaskSettings, check_option_names, read_settings
from .dispatch import AppState, ErrorHandler, Registry
from .namespace import Namespace

if TYPE_CHECKING:
    from .testing import SocketIOTestClient

F = TypeVar("F", bound=Callable[..., Any])


class SocketIO:
    """Socket.IO for Flask applications.

    Keyword arguments are server options (``ping_interval``, ``cors_allowed_origins``,
    ``async_mode``, ...) and the plugin's ``path`` and ``manage_session``; they override the
    application's ``SOCKETIO_*`` config keys.
    """

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        check_option_names(kwargs)
        self._options = kwargs
        self.registry = Registry()
        self._states: list[AppState] = []
        self._emitter: Emitter | None = None
        self._emitter_lock = threading.Lock()
        #: the server of the application initialised last (Flask-SocketIO's attribute)
        self.server: Server | None = None
        if app is not None:
            self.init_app(app)

    # -- applications ---------------------------------------------------------------------

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        """Serve Socket.IO for ``app``; ``kwargs`` override the extension's options."""
        if context.EXTENSION_KEY in app.extensions:
            raise RuntimeError(f"SocketIO is already initialised for the app {app.name!r}; "
                               "call init_app once per application")
        settings = read_settings(app.config, {**self._options, **kwargs})
        server = Server(**settings.server.server_kwargs())
        state = AppState(app=app, server=server, settings=settings, registry=self.registry,
                         socketio=self)
        state.mount_namespaces()
        request_finished.connect(state.on_http_response, app, weak=False)
        app.extensions[context.EXTENSION_KEY] = state
        app.wsgi_app = WSGIApp(server, app.wsgi_app,  # type: ignore[method-assign]
                               socketio_path=settings.path)
        self._states.append(state)
        self.server = server

    def state(self, app: Flask | None = None) -> AppState:
        """The :class:`AppState` of ``app`` (default: the current or the only application)."""
        if app is None and has_app_context():
            found = current_app.extensions.get(context.EXTENSION_KEY)
            if found is not None and found.socketio is self:
                return found  # type: ignore[no-any-return]
        if app is not None:
            found = app.extensions.get(context.EXTENSION_KEY)
            if found is None or found.socketio is not self:
                raise RuntimeError(f"this SocketIO does not serve the app {app.name!r}")
            return found  # type: ignore[no-any-return]
        if len(self._states) == 1:
            return self._states[0]
        if not self._states:
            raise RuntimeError("SocketIO is not initialised with an application yet")
        raise RuntimeError("this SocketIO serves several applications: call it inside an "
                           "app context, or pass app=")

    def get_server(self, app: Flask | None = None) -> Server:
        """The Socket.IO server of ``app`` (default: the current or the only application)."""
        return self.state(app).server

    def settings(self, app: Flask | None = None) -> FlaskSettings:
        """The settings ``init_app`` read for ``app``."""
        return self.state(app).settings

    @property
    def emitter(self) -> Emitter | None:
        """The write-only emitter of ``SocketIO(message_queue=...)`` used without an app.

        Created by the first emit of an extension that serves no application (a Celery
        worker, a script); ``None`` until then. ``socketio.emitter.close()`` disconnects.
        """
        return self._emitter

    def _external(self, app: Flask | None) -> Emitter | None:
        """The emitter to use instead of a server, when this extension serves no app."""
        if self._states or app is not None or not self._options.get("message_queue"):
            return None
        with self._emitter_lock:
            if self._emitter is None:
                options = read_settings({}, self._options).server
                self._emitter = Emitter(
                    options.message_queue, channel=options.channel,
                    options=options.message_queue_options,
                    secret=options.message_queue_secret,
                    format=options.message_queue_format, outbox=options.message_queue_outbox,
                    outbox_age=options.message_queue_outbox_age,
                    request_timeout=options.message_queue_timeout, json=options.json)
            return self._emitter

    # -- registering handlers ---------------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator registering a handler: ``@socketio.on("chat", namespace="/room")``.

        The handler receives the event's arguments (not the sid: that is ``request.sid``);
        ``connect`` receives ``auth`` (optional), ``disconnect`` the reason (optional), a
        catch-all (``"*"``) handler the event name first.
        """

        def decorator(handler: F) -> F:
            self.on_event(message, handler, namespace)
            return handler

        return decorator

    def on_event(self, message: str, handler: Callable[..., Any],
                 namespace: str | None = None) -> None:
        """Register ``handler`` for ``message`` without a decorator."""
        if not isinstance(message, str):
            raise TypeError("event names are strings")
        self.registry.functions.setdefault(namespace or "/", {})[message] = handler
        self._mount()

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Register a handler named after the function (``@socketio.event``)."""
        return event_decorator(self.on_event, args, kwargs)

    def on_namespace(self, namespace_handler: Namespace) -> None:
        """Register a class-based :class:`Namespace`."""
        if not isinstance(namespace_handler, Namespace):
            raise ValueError("not a sio_integrations.flask.Namespace instance")
        namespace_handler._set_socketio(self)
        self.registry.classes[namespace_handler.namespace] = namespace_handler
        self._mount()

    def on_error(self, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator for the error handler of a namespace: ``handler(exception)``.

        Its return value is the failed event's acknowledgement; a failed ``connect`` is
        refused after the error handler ran.
        """

        def decorator(handler: F) -> F:
            self.registry.error_handlers[namespace or "/"] = handler
            return handler

        return decorator

    def on_error_default(self, handler: ErrorHandler) -> ErrorHandler:
        """Decorator for the error handler of namespaces without their own."""
        self.registry.default_error_handler = handler
        return handler

    def before_event(self, hook: F) -> F:
        """Decorator for a function run before every event's handler, in its context.

        Flask's ``before_request`` for Socket.IO (which it never runs): it takes no
        arguments (``request.event``, ``request.namespace``, ``current_user`` are there)
        and returns None to let the event through. Anything else stops it: for
        ``connect`` the connection is refused, for other events the value is the
        acknowledgement. Not run for ``disconnect``. Exceptions go to the error handlers.
        """
        self.registry.before_event.append(hook)
        self._mount()
        return hook

    def _mount(self) -> None:
        for state in self._states:
            state.mount_namespaces()

    # -- emitting -------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, namespace: str | None = None, to: Any = None,
             room: Any = None, include_self: bool = True, skip_sid: Any = None,
             callback: Callable[..., Any] | None = None, ignore_queue: bool = False,
             app: Flask | None = None) -> None:
        """Emit ``event`` to a sid, a room, a list of rooms, or everyone (no ``to``).

        Works from handlers, HTTP views and background threads, and, for an extension
        created with ``message_queue=`` but no application, from any process (through the
        queue; no callbacks there). Several ``args`` arrive as
        several arguments. ``include_self=False`` skips the client whose event is being
        handled. ``callback`` is called with the acknowledgement's arguments, inside that
        client's context when emitted from a handler.
        """
        namespace = namespace or "/"
        emitter = self._external(app)
        if emitter is not None:
            if callback is not None:
                raise ValueError("acknowledgements cannot reach an external emitter")
            emitter.emit(event, _data(args), to=to if to is not None else room,
                         skip_sid=skip_sid, namespace=namespace)
            return
        state = self.state(app)
        sid = context.current_sid()
        if not include_self and sid is not None:
            skip_sid = _merge_skip(skip_sid, sid)
        if callback is not None and sid is not None:
            origin = context.current_namespace() or namespace
            callback = functools.partial(_in_context, state, sid, origin, callback)
        state.server.emit(event, _data(args), to=to if to is not None else room,
                          skip_sid=skip_sid, namespace=namespace, callback=callback,
                          ignore_queue=ignore_queue)

    def send(self, data: Any, json: bool = False, namespace: str | None = None,
             to: Any = None, room: Any = None, include_self: bool = True,
             skip_sid: Any = None, callback: Callable[..., Any] | None = None,
             ignore_queue: bool = False, app: Flask | None = None) -> None:
        """Send a ``message`` event (``json`` is accepted for compatibility and ignored)."""
        self.emit("message", data, namespace=namespace, to=to, room=room,
                  include_self=include_self, skip_sid=skip_sid, callback=callback,
                  ignore_queue=ignore_queue, app=app)

    def call(self, event: str, *args: Any, to: str | None = None, sid: str | None = None,
             namespace: str | None = None, timeout: float = 60, ignore_queue: bool = False,
             app: Flask | None = None) -> Any:
        """Emit to one client and return its acknowledgement (``TimeoutError`` if none)."""
        return self.state(app).server.call(event, _data(args), to=to or sid,
                                           namespace=namespace or "/", timeout=timeout,
                                           ignore_queue=ignore_queue)

    def close_room(self, room: str, namespace: str | None = None,
                   app: Flask | None = None) -> None:
        """Take every client out of ``room``."""
        emitter = self._external(app)
        if emitter is not None:
            emitter.close_room(room, namespace=namespace)
            return
        self.state(app).server.close_room(room, namespace=namespace or "/")

    # -- tasks ----------------------------------------------------------------------------

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        """Run ``target`` in a thread (or green thread) of the server's async mode."""
        return self.state().server.start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        """Sleep in the server's async mode (a green sleep under eventlet/gevent)."""
        self.state().server.sleep(seconds)

    # -- serving and testing ------------------------------------------------------------

    def run(self, app: Flask, host: str | None = None, port: int | None = None,
            **kwargs: Any) -> None:
        """Serve ``app`` with Socket.IO for development (see ``serving.run``)."""
        from .serving import run

        run(self.state(app), host=host, port=port, **kwargs)

    def stop(self) -> None:
        """Stop the server started by :meth:`run` (from a handler or another thread)."""
        from .serving import stop

        stop()

    def test_client(self, app: Flask, namespace: str | None = None,
                    query_string: str | None = None, headers: dict[str, str] | None = None,
                    auth: Any = None, flask_test_client: Any = None) -> SocketIOTestClient:
        """An in-process Socket.IO client of ``app`` (connected to ``namespace``)."""
        from .testing import SocketIOTestClient

        return SocketIOTestClient(app, self, namespace=namespace, query_string=query_string,
                                  headers=headers, auth=auth,
                                  flask_test_client=flask_test_client)


def _data(args: tuple[Any, ...]) -> Any:
    """The core's ``data`` for emit arguments (a tuple is several arguments)."""
    if len(args) == 1:
        return args[0]  # a tuple is several arguments (python-socketio's convention)
    return tuple(args) if args else None


def _merge_skip(skip_sid: Any, sid: str) -> Any:
    if skip_sid is None:
        return sid
    if isinstance(skip_sid, str):
        return [skip_sid, sid]
    return [*skip_sid, sid]


def _in_context(state: AppState, sid: str, namespace: str, callback: Callable[..., Any],
                *args: Any) -> Any:
    return state.run_callback(sid, namespace, callback, args)

