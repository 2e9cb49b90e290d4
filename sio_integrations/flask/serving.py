"""``socketio.run(app)``: a development server for the application's async mode.

* ``threading`` (the default): Werkzeug's threaded server; websocket works through
  simple-websocket, which python-engineio's threading driver uses. ``debug=True`` turns
  on Flask's debug mode, the debugger and the reloader, as ``flask run --debug`` would.
* ``eventlet``: ``eventlet.wsgi``; ``gevent``: ``gevent.pywsgi`` (websocket through
  gevent-websocket when installed, else simple-websocket). These need the program to
  monkey-patch the standard library first; there is no reloader.

For production use a real WSGI server (docs/flask.md has Gunicorn recipes).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from ..errors import ConfigurationError
from .dispatch import AppState

_running: dict[str, Any] = {}
_lock = threading.Lock()


def run(state: AppState, host: str | None = None, port: int | None = None, *,
        debug: bool | None = None, use_reloader: bool | None = None,
        reloader_options: dict[str, Any] | None = None, log_output: bool | None = None,
        allow_unsafe_werkzeug: bool = False, **kwargs: Any) -> None:
    """Serve ``state.app`` until stopped (Ctrl-C, SIGTERM or :func:`stop`).

    ``host``/``port`` default to ``SERVER_NAME`` or 127.0.0.1:5000. Other keyword arguments
    go to the underlying server (``ssl_context`` for Werkzeug, say).
    ``allow_unsafe_werkzeug`` is accepted for Flask-SocketIO compatibility.
    """
    app = state.app
    if debug is not None:
        app.debug = debug
    host, port = _address(app.config.get("SERVER_NAME"), host, port)
    mode = state.server.async_mode
    if log_output is None:
        log_output = app.debug
    if use_reloader is None:
        use_reloader = app.debug
    if mode == "threading":
        _run_werkzeug(app, host, port, use_reloader=use_reloader,
                      reloader_options=reloader_options or {}, log_output=log_output,
                      **kwargs)
    elif mode == "eventlet":
        _run_eventlet(app, host, port, log_output=log_output, **kwargs)
    elif mode in ("gevent", "gevent_uwsgi"):
        _run_gevent(app, host, port, log_output=log_output, **kwargs)
    else:  # pragma: no cover - config.py only allows the modes above
        raise ConfigurationError(f"socketio.run() cannot serve async_mode {mode!r}")


def stop() -> None:
    """Stop the server :func:`run` started (no effect when none is running)."""
    with _lock:
        server = _running.pop("server", None)
    if server is None:
        return
    if hasattr(server, "shutdown"):
        # Werkzeug's shutdown waits for serve_forever to return: never in its own thread
        threading.Thread(target=server.shutdown, daemon=True).start()
    else:
        server.stop()


def _address(server_name: Any, host: str | None, port: int | None) -> tuple[str, int]:
    name_host, name_port = None, None
    if isinstance(server_name, str) and server_name:
        name_host, _, name_port = server_name.partition(":")
    host = host or name_host or "127.0.0.1"
    port = port if port is not None else int(name_port or 5000)
    return host, port


def _announce(host: str, port: int, what: str) -> None:
    # the example projects' harness waits for this line
    print(f" * Socket.IO ({what}) running on http://{host}:{port}/ (Ctrl-C to quit)",
          flush=True)


def _run_werkzeug(app: Any, host: str, port: int, *, use_reloader: bool,
                  reloader_options: dict[str, Any], log_output: bool, **kwargs: Any) -> None:
    from werkzeug.serving import is_running_from_reloader, make_server, run_simple

    if not log_output:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if use_reloader:
        if is_running_from_reloader():
            _announce(host, port, "threading")
        run_simple(host, port, app, use_reloader=True, use_debugger=app.debug,
                   threaded=True, **reloader_options, **kwargs)
        return
    wsgi_app: Any = app
    if app.debug:
        from werkzeug.debug import DebuggedApplication

        wsgi_app = DebuggedApplication(app, evalex=True)
    server = make_server(host, port, wsgi_app, threaded=True, **kwargs)
    with _lock:
        _running["server"] = server
    _announce(host, server.server_port, "threading")
    previous = _stop_on_sigterm()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C: a normal way to stop a development server
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with _lock:
            _running.pop("server", None)
        server.server_close()


def _stop_on_sigterm() -> Any:
    """Let SIGTERM end ``serve_forever`` (so ``finally`` blocks and atexit hooks run)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda signum, frame: stop())


def _run_eventlet(app: Any, host: str, port: int, *, log_output: bool,
                  **kwargs: Any) -> None:
    try:
        import eventlet
        import eventlet.wsgi
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError("async_mode 'eventlet' needs eventlet: pip install "
                                 "eventlet") from exc
    listener = eventlet.listen((host, port))
    _announce(host, listener.getsockname()[1], "eventlet")
    log = None if log_output else open(os.devnull, "w")  # noqa: SIM115
    try:
        eventlet.wsgi.server(listener, app, log=log or sys.stderr, log_output=log_output,
                             **kwargs)
    finally:
        if log is not None:
            log.close()


def _run_gevent(app: Any, host: str, port: int, *, log_output: bool, **kwargs: Any) -> None:
    try:
        from gevent import pywsgi
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError("async_mode 'gevent' needs gevent: pip install "
                                 "gevent") from exc
    handler: Any = None
    try:
        from geventwebsocket.handler import (  # type: ignore[import-not-found]
            WebSocketHandler,
        )

        handler = WebSocketHandler
    except ImportError:
        pass  # engineio falls back to simple-websocket
    options: dict[str, Any] = {"log": "default" if log_output else None, **kwargs}
    if handler is not None:
        options["handler_class"] = handler
    server = pywsgi.WSGIServer((host, port), app, **options)
    server.start()
    with _lock:
        _running["server"] = server
    _announce(host, server.server_port, "gevent")
    try:
        server.serve_forever()
    finally:
        with _lock:
            _running.pop("server", None)
