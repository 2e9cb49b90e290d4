"""ASGI: our driver (scope -> environ, a thin websocket) and the ``ASGIApp`` router.

We do not use engineio's ASGI driver: it reports every client as ``127.0.0.1`` and wraps
each websocket frame in extra layers. Ours reads ``scope["client"]`` and hands frames
straight between the ASGI server and the engine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from types import CoroutineType
from typing import Any, Protocol

from .asgi_direct import DirectWebSocket, take_over
from .asgi_http import DisconnectWatch, on_uvicorn, respond_now
from .drivers import AsyncDriver, AsyncWebSocket, Environ, Headers, _ServerAdapter
from .eager import continue_started
from .static import resolve_static

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ASGIWebSocket:
    """A websocket on an ASGI connection (already accepted)."""

    __slots__ = ("_receive", "_send", "closed")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.closed = False

    def send(self, data: str | bytes) -> Awaitable[None]:
        # a plain method returning the server's awaitable: one coroutine less per frame
        if data.__class__ is str:
            return self._send({"type": "websocket.send", "text": data})
        return self._send({"type": "websocket.send", "bytes": data})

    async def receive(self) -> str | bytes | None:
        if self.closed:
            return None
        message = await self._receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            data: str | bytes | None = text if text is not None else message.get("bytes")
            return data
        self.closed = True  # websocket.disconnect
        return None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self._send({"type": "websocket.close", "code": 1000})
        except Exception:  # the peer may be gone already
            pass


#: ``wsgi.url_scheme`` for an ASGI scheme (websocket schemes are reported as http/https)
_URL_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
#: raw header name -> environ key, filled as names are seen (bounded: names are few)
_HEADER_KEYS: dict[bytes, str] = {}
_HEADER_KEYS_MAX = 512
# keys that WSGI does not prefix with HTTP_ (and that keep the last value, not a join)
_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
#: environ key of a POST body the host had already received when the request arrived
#: (read by the engine's long-polling POST instead of waiting on ``read_body``)
BODY_KEY = "sio_integrations.body"
# environ key of the first ``receive()`` of a POST, when it had to wait or was not the
# whole body: ``read_body`` continues from it
_FIRST_KEY = "sio_integrations.first_receive"


def _header_key(raw_name: bytes) -> str:
    key = _HEADER_KEYS.get(raw_name)
    if key is None:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in _UNPREFIXED else "HTTP_" + name
        if len(_HEADER_KEYS) < _HEADER_KEYS_MAX:
            _HEADER_KEYS[raw_name] = key
    return key


#: the headers the engine itself reads for a request of an existing session
_ENGINE_KEYS = frozenset({
    "HTTP_ORIGIN", "HTTP_HOST", "HTTP_X_FORWARDED_HOST", "CONTENT_LENGTH",
    "HTTP_ACCEPT_ENCODING", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
})
#: raw header name -> its environ key when the engine reads it, else None (one lookup per
#: header of a session's request; filled as names are seen, bounded like _HEADER_KEYS)
_SESSION_KEYS: dict[bytes, str | None] = {}
_UNSEEN: Any = object()


def _session_key(raw_name: bytes) -> str | None:
    key = _header_key(raw_name)
    wanted = key if key in _ENGINE_KEYS else None
    if len(_SESSION_KEYS) < _HEADER_KEYS_MAX:
        _SESSION_KEYS[raw_name] = wanted
    return wanted


# marks an environ made by session_environ (ASGIDriver.full_environ completes it)
_PARTIAL_KEY = "sio_integrations.partial_environ"


def _names_a_session(query: bytes) -> bool:
    """Whether the query has a ``sid`` parameter (a request of an existing session)."""
    return query.startswith(b"sid=") or b"&sid=" in query


def session_environ(scope: Scope, receive: Receive, send: Send) -> Environ:
    """The environ of a long-polling request of an existing session: only what the engine
    reads (method, path, query, client address, the headers it checks, ``asgi.*``).

    Handlers never see it: they get the handshake's full environ. The one per-request
    hook, a callable ``cors_allowed_origins``, gets :meth:`ASGIDriver.full_environ`.
    """
    query = scope.get("query_string") or b""
    client = scope.get("client") or ("", 0)
    environ: Environ = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": query.decode("latin-1") if query.__class__ is bytes else str(query),
        "REMOTE_ADDR": str(client[0]) if client[0] is not None else "",
        "asgi.scope": scope,
        "asgi.receive": receive,
        "asgi.send": send,
        _PARTIAL_KEY: True,
    }
    keys = _SESSION_KEYS
    for raw_name, raw_value in scope.get("headers", ()):
        key = keys.get(raw_name, _UNSEEN)
        if key is _UNSEEN:
            key = _session_key(raw_name)
        if key is not None:
            value = raw_value.decode("latin-1")
            if key in environ and key != "CONTENT_LENGTH":
                environ[key] = environ[key] + "," + value
            else:
                environ[key] = value
    return environ


def scope_to_environ(scope: Scope, receive: Receive, send: Send) -> Environ:
    """A WSGI-style environ for an ASGI http or websocket scope (nothing is received).

    Every request header is there (``HTTP_*``, ``CONTENT_TYPE``, ``CONTENT_LENGTH``;
    repeated headers joined with ``,``), next to the usual CGI keys and ``asgi.scope``,
    ``asgi.receive``, ``asgi.send``. Header names are converted once per distinct name.
    """
    query = scope.get("query_string") or b""
    query_string = query.decode("latin-1") if query.__class__ is bytes else str(query)
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("", 0)
    scheme = scope.get("scheme") or "http"
    path = scope.get("path", "/")
    environ: Environ = {
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.url_scheme": _URL_SCHEMES.get(scheme, scheme),
        "SERVER_SOFTWARE": "asgi",
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "RAW_URI": path + "?" + query_string if query_string else path,
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": str(client[0]) if client[0] is not None else "",
        "REMOTE_PORT": str(client[1]) if len(client) > 1 else "0",
        "SERVER_NAME": str(server[0]) if server and server[0] is not None else "",
        "SERVER_PORT": str(server[1]) if server and len(server) > 1 and server[1] else "0",
        "asgi.scope": scope,
        "asgi.receive": receive,
        "asgi.send": send,
    }
    keys = _HEADER_KEYS
    for raw_name, raw_value in scope.get("headers", ()):
        key = keys.get(raw_name) or _header_key(raw_name)
        value = raw_value.decode("latin-1")
        if key in environ and key not in _UNPREFIXED:
            environ[key] = environ[key] + "," + value
        else:
            environ[key] = value
    return environ


class ASGIDriver(AsyncDriver):
    """The engine's ASGI host driver."""

    def __init__(self, max_http_buffer_size: int = 1_000_000) -> None:  # noqa: D107
        from .backends import AsyncBackend

        self.mode = "asgi"
        self.backend = AsyncBackend()
        self._async = {}
        self._adapter = _ServerAdapter(max_http_buffer_size)
        self.supports_websocket = True
        #: own uvicorn's websockets after the handshake (runtime/asgi_direct.py)
        self.direct_websockets = True

    async def translate(self, *args: Any, **kwargs: Any) -> Environ:
        return self.translate_now(*args)

    def translate_now(self, scope: Scope, receive: Receive, send: Send) -> Environ:
        """:meth:`translate` without a coroutine (nothing is awaited): the engine calls
        this one."""
        if scope["type"] == "http" and _names_a_session(scope.get("query_string") or b""):
            environ = session_environ(scope, receive, send)
            if scope.get("method") == "POST":
                self._take_body(environ, receive)
            return environ
        return scope_to_environ(scope, receive, send)

    def full_environ(self, environ: Environ) -> Environ:
        """The complete environ (every header) of a request translated with only the
        engine's keys (see :func:`session_environ`); other environs are returned as is."""
        if _PARTIAL_KEY not in environ:
            return environ
        full = scope_to_environ(environ["asgi.scope"], environ["asgi.receive"],
                                environ["asgi.send"])
        for key in (BODY_KEY, _FIRST_KEY):
            if key in environ:
                full[key] = environ[key]
        return full

    def _take_body(self, environ: Environ, receive: Receive) -> None:
        """Start receiving a POST body at once: when the host already has all of it (the
        usual case: it came with the headers), it goes to ``environ[BODY_KEY]`` and the
        engine needs no timed wait (a task and a timer) to read it."""
        started = receive()
        if started.__class__ is not CoroutineType:  # another awaitable: read_body awaits it
            environ[_FIRST_KEY] = started
            return
        coro: Any = started
        try:
            yielded = coro.send(None)
        except StopIteration as done:
            message = done.value
            if (message.__class__ is dict and message.get("type") == "http.request"
                    and not message.get("more_body")):
                body = message.get("body") or b""
                if len(body) <= self._adapter.max_http_buffer_size:
                    environ[BODY_KEY] = body
                    return
            environ[_FIRST_KEY] = message
            return
        # not there yet: read_body finishes this receive() (a plain value in the environ,
        # so nothing warns when the request is refused before its body is read)
        environ[_FIRST_KEY] = (coro, yielded)

    def watch_disconnect(
        self, environ: Environ, on_gone: Callable[[], object]
    ) -> DisconnectWatch | None:
        """Watch a waiting long-polling GET: ``on_gone()`` when its client disconnects
        (the engine stops the watch before it answers)."""
        return DisconnectWatch(environ["asgi.receive"], on_gone)

    def is_websocket(self, environ: Environ) -> bool:
        return bool(environ["asgi.scope"]["type"] == "websocket")

    async def respond(self, environ: Environ, status: int, headers: Headers, body: bytes) -> Any:
        send: Send = environ["asgi.send"]
        scope = environ["asgi.scope"]
        if scope["type"] == "websocket":
            await environ["asgi.receive"]()  # websocket.connect
            if "websocket.http.response" in scope.get("extensions", {}):
                # the server lets us refuse with a real HTTP response (status + JSON body)
                await send({"type": "websocket.http.response.start", "status": status,
                            "headers": _raw_headers(headers)})
                await send({"type": "websocket.http.response.body", "body": body})
            else:  # close before accepting: the server answers HTTP 403
                await send({"type": "websocket.close", "code": 1008})
            return None
        if self.respond_at_once(environ, status, headers, body):
            return None
        raw = _raw_headers(headers)
        if status != 204 and status != 304:
            # a length instead of chunked framing (what the JavaScript server sends)
            raw.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
        return None

    def respond_at_once(self, environ: Environ, status: int, headers: Headers,
                        body: bytes) -> bool:
        """On uvicorn (httptools), write an HTTP response in one piece, without a
        coroutine (runtime/asgi_http.py); False: nothing was written, await
        :meth:`respond`. The engine tries this first."""
        send = environ["asgi.send"]
        return on_uvicorn(send) and respond_now(send, status, _raw_headers(headers), body)

    async def read_body(self, environ: Environ, limit: int) -> bytes | None:
        body: bytes | None = environ.pop(BODY_KEY, None)
        if body is not None:
            return body if len(body) <= limit else None
        receive: Receive = environ["asgi.receive"]
        first: Any = environ.pop(_FIRST_KEY, None)
        chunks: list[bytes] = []
        size = 0
        while True:
            if first is None:
                message = await receive()
            elif first.__class__ is dict:  # translate received it already
                message, first = first, None
            elif first.__class__ is tuple:  # a receive() translate started
                message, first = await continue_started(*first), None
            else:
                message, first = await first, None
            if message["type"] != "http.request":
                return None  # http.disconnect: nothing to answer
            chunk = message.get("body") or b""
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def websocket(
        self, environ: Environ, handler: Callable[[AsyncWebSocket], Awaitable[None]]
    ) -> Any:
        receive: Receive = environ["asgi.receive"]
        send: Send = environ["asgi.send"]
        message = await receive()
        if message["type"] != "websocket.connect":
            return None
        await send({"type": "websocket.accept"})
        # no await between the accept and the takeover: no frame can have arrived yet
        ws: ASGIWebSocket | DirectWebSocket | None = None
        if self.direct_websockets:
            ws = take_over(send, self._adapter.max_http_buffer_size)
        if ws is None:
            ws = ASGIWebSocket(receive, send)
        try:
            await handler(ws)
        finally:
            await ws.close()
        return None

    def create_route(self, app: Any, engine: Any, path: str) -> None:
        from ..errors import ConfigurationError

        raise ConfigurationError("async_mode 'asgi': wrap the server with ASGIApp instead")


class ASGIServer(Protocol):
    async def handle_request(self, scope: Scope, receive: Receive, send: Send) -> Any: ...


class ASGIApp:
    """ASGI application: Socket.IO at ``socketio_path``, static files, then ``other_asgi_app``.

    With ``socketio_path=None`` every http/websocket request goes to the server.
    Lifespan events go to ``other_asgi_app`` unless ``on_startup``/``on_shutdown`` are
    given (they may be coroutine functions).

    ``shutdown_grace`` (seconds): when set and the server runs its event loop in the main
    thread (``uvicorn app:app``), SIGTERM/SIGINT first shut the Socket.IO server down
    (new connections refused, already-emitted messages flushed for up to that long, every
    client disconnected with "server shutting down"), then reach the ASGI server's own
    handler; a second signal goes straight to it.
    """

    def __init__(
        self,
        socketio_server: Any,
        other_asgi_app: Any = None,
        static_files: Mapping[str, Any] | None = None,
        socketio_path: str | None = "socket.io",
        on_startup: Callable[[], Any] | None = None,
        on_shutdown: Callable[[], Any] | None = None,
        shutdown_grace: float | None = None,
    ) -> None:
        self.engineio_server = socketio_server
        self.shutdown_grace = shutdown_grace
        self._signals_checked = False
        self._shutting_down = False
        self._shutdown_task: asyncio.Task[None] | None = None
        self.socketio_server = socketio_server
        self.other_asgi_app = other_asgi_app
        self.static_files = dict(static_files or {})
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.socketio_path: str | None = None
        if socketio_path is not None:
            self.socketio_path = "/" + socketio_path.strip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if not self._signals_checked:
            self._install_signal_handlers()
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind in ("http", "websocket") and (
            self.socketio_path is None or (scope["path"] + "/").startswith(self.socketio_path)
        ):
            await self.socketio_server.handle_request(scope, receive, send)
            return
        if kind == "http" and self.static_files:
            found = resolve_static(scope["path"], self.static_files)
            if found is not None and await self._serve_file(found.filename, found.content_type,
                                                            send):
                return
        if self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif kind == "http":
            await _plain(send, 404, b"Not Found")
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    def _install_signal_handlers(self) -> None:
        self._signals_checked = True
        if self.shutdown_grace is None or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)

            def handler(sig: int, frame: Any, previous: Any = previous) -> None:
                if self._shutting_down:  # a second signal: the host decides
                    _call_previous(previous, sig, frame)
                    return
                self._shutting_down = True

                def start() -> None:
                    self._shutdown_task = loop.create_task(self._graceful(previous, sig, frame))

                loop.call_soon_threadsafe(start)  # (wakes the loop up)

            signal.signal(signum, handler)

    async def _graceful(self, previous: Any, sig: int, frame: Any) -> None:
        try:
            await self.socketio_server.shutdown(grace=self.shutdown_grace)
        except Exception:
            logging.getLogger("sio_integrations.server").exception("shutdown failed")
        finally:
            _call_previous(previous, sig, frame)

    async def _serve_file(self, filename: str, content_type: str, send: Send) -> bool:
        try:
            with open(filename, "rb") as f:
                body = f.read()
        except OSError:
            return False
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type.encode("latin-1"))],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other_asgi_app is not None and self.on_startup is None and (
            self.on_shutdown is None
        ):
            await self.other_asgi_app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                hook, done = self.on_startup, "lifespan.startup"
            elif message["type"] == "lifespan.shutdown":
                hook, done = self.on_shutdown, "lifespan.shutdown"
            else:
                continue
            try:
                if hook is not None:
                    result = hook()
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:
                await send({"type": done + ".failed", "message": str(exc)})
                return
            await send({"type": done + ".complete"})
            if done == "lifespan.shutdown":
                return


def _call_previous(previous: Any, sig: int, frame: Any) -> None:
    """Hand a signal to the handler that was installed before ours."""
    if callable(previous):
        previous(sig, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(sig, signal.SIG_DFL)
        signal.raise_signal(sig)


#: encoded response headers by (name, value): the engine's are a handful of constants
#: (content types, CORS for the few origins a deployment serves); bounded
_RAW_HEADERS: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_RAW_HEADERS_MAX = 1024


def _raw_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    raw = []
    cache = _RAW_HEADERS
    for header in headers:
        encoded = cache.get(header)
        if encoded is None:
            name, value = header
            encoded = (name.lower().encode("latin-1"), value.encode("latin-1"))
            if len(cache) < _RAW_HEADERS_MAX:
                cache[header] = encoded
        raw.append(encoded)
    return raw


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body})
