"""The one seam over ``engineio.async_drivers``: each host's request, response and websocket.

python-engineio knows how to talk to every host (ASGI, aiohttp, Sanic, Tornado, WSGI with
threads, eventlet or gevent). We keep that knowledge and nothing above it: a driver turns
the host's request into a WSGI-style ``environ``, writes a response, reads a bounded body
and runs a websocket through a small connection object with ``send``/``receive``/``close``
(``receive`` returns ``None`` once the peer is gone). ASGI uses our own driver
(:mod:`sio_integrations.runtime.asgi`): engineio's hard-codes ``REMOTE_ADDR`` and is slow.

The async mode is always explicit: "asgi" for :class:`AsyncDriver`, "threading" for
:class:`SyncDriver` unless told otherwise. We never auto-detect (engineio picks aiohttp
whenever it is installed).
"""

from __future__ import annotations

import asyncio
import http
import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from ..errors import ConfigurationError
from ..options import ASYNC_MODES_ASYNC, ASYNC_MODES_SYNC
from .backends import AsyncBackend, SyncBackend

Environ = dict[str, Any]
Headers = list[tuple[str, str]]

DEFAULT_ASYNC_MODE = "asgi"
DEFAULT_SYNC_MODE = "threading"
#: environ key under which a sync driver keeps the WSGI ``start_response``
START_RESPONSE = "sio_integrations.start_response"


class AsyncWebSocket(Protocol):
    def send(self, data: str | bytes) -> Awaitable[None]: ...

    async def receive(self) -> str | bytes | None: ...

    async def close(self) -> None: ...


class SyncWebSocket(Protocol):
    def send(self, data: str | bytes) -> None: ...

    def receive(self) -> str | bytes | None: ...

    def close(self) -> None: ...


class _ServerAdapter:
    """What engineio's websocket wrappers read from the "server" they are given."""

    def __init__(self, max_http_buffer_size: int) -> None:
        self.max_http_buffer_size = max_http_buffer_size

    def _ok(self) -> None:  # the sanic wrapper returns this as the response
        return None


def _load_engineio_driver(mode: str) -> dict[str, Any]:
    try:
        module = importlib.import_module(f"engineio.async_drivers.{mode}")
    except ImportError as exc:
        raise ConfigurationError(
            f"async_mode {mode!r} needs a package that is not installed ({exc})"
        ) from exc
    driver: dict[str, Any] = module._async
    return driver


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def wants_websocket(environ: Environ) -> bool:
    return "websocket" in environ.get("HTTP_UPGRADE", "").lower()


class _EngineioAsyncWebSocket:
    """Adapts an engineio async websocket wrapper (``wait`` raises when closed)."""

    __slots__ = ("_ws",)

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    async def send(self, data: str | bytes) -> None:
        await self._ws.send(data)

    async def receive(self) -> str | bytes | None:
        try:
            data = await self._ws.wait()
        except asyncio.CancelledError:
            # Sanic's recv() raises CancelledError when the peer goes away: that is a
            # closed transport unless our own task is the one being cancelled
            if _being_cancelled():
                raise
            return None
        except Exception:
            return None
        return data if isinstance(data, (str, bytes)) else None

    async def close(self) -> None:
        try:
            await self._ws.close()
        except Exception:
            pass


def _being_cancelled() -> bool:
    """Whether the running task itself is being cancelled (Python 3.10 cannot tell a
    cancelled task from a ``CancelledError`` raised by a callee: assume it is)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or bool(cancelling())


class AsyncDriver:
    """An asyncio host, through engineio's driver module for ``mode``."""

    def __init__(self, mode: str, max_http_buffer_size: int = 1_000_000) -> None:
        self.mode = mode
        self.backend = AsyncBackend()
        self._async = _load_engineio_driver(mode)
        # the host's own frame limit sits above ours, so the engine sees an oversized
        # message and closes with "transport error" instead of a bare close from the host
        self._adapter = _ServerAdapter(max_http_buffer_size + 65536)
        self.supports_websocket = self._async.get("websocket") is not None

    @staticmethod
    def load(mode: str | None, max_http_buffer_size: int = 1_000_000) -> AsyncDriver:
        mode = mode or DEFAULT_ASYNC_MODE
        if mode not in ASYNC_MODES_ASYNC:
            raise ConfigurationError(
                f"async_mode {mode!r} is not an asyncio mode (use one of {ASYNC_MODES_ASYNC})"
            )
        if mode == "asgi":
            from .asgi import ASGIDriver

            return ASGIDriver(max_http_buffer_size)
        return AsyncDriver(mode, max_http_buffer_size)

    async def translate(self, *args: Any, **kwargs: Any) -> Environ:
        environ = self._async["translate_request"](*args, **kwargs)
        if inspect.isawaitable(environ):
            environ = await environ
        environ = dict(environ)
        # engineio's aiohttp, Sanic and Tornado translations hard-code 127.0.0.1 as the peer
        peer = None
        if self.mode == "aiohttp" and args:
            peer = getattr(args[0], "remote", None)
        elif self.mode == "sanic" and args:
            peer = getattr(args[0], "ip", None)
        elif self.mode == "tornado" and args:
            peer = getattr(getattr(args[0], "request", None), "remote_ip", None)
        if peer:
            environ["REMOTE_ADDR"] = peer
        return environ

    def is_websocket(self, environ: Environ) -> bool:
        return wants_websocket(environ)

    async def respond(self, environ: Environ, status: int, headers: Headers, body: bytes) -> Any:
        response = self._async["make_response"](status_line(status), headers, body, environ)
        if inspect.isawaitable(response):
            response = await response
        return response

    async def read_body(self, environ: Environ, limit: int) -> bytes | None:
        """The request body, or None when it is larger than ``limit`` bytes."""
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        if hasattr(stream, "readany"):  # aiohttp's StreamReader: read chunk by chunk
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = await stream.readany()
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        data = await stream.read(limit + 1)
        return None if len(data) > limit else bytes(data)

    #: own aiohttp's websocket connections (runtime/aiohttp_direct.py); False keeps
    #: aiohttp's WebSocketResponse for every request
    direct_websockets = True
    #: aiohttp: accept permessage-deflate (spoken on the direct path too,
    #: runtime/aiohttp_direct.py); False declines it
    websocket_deflate = True

    async def websocket(
        self, environ: Environ, handler: Callable[[AsyncWebSocket], Awaitable[None]]
    ) -> Any:
        wrapper_class = self._async.get("websocket")
        if wrapper_class is None:
            return None
        if self.mode == "aiohttp" and self.direct_websockets:
            # aiohttp's connection read and written by us (runtime/aiohttp_direct.py)
            from .aiohttp_direct import NOT_DIRECT, websocket

            served = await websocket(environ, handler, self._adapter.max_http_buffer_size,
                                     deflate=self.websocket_deflate)
            if served is not NOT_DIRECT:
                return served

        if self.mode == "sanic":
            async def run(ws: Any) -> None:
                await _run_sanic_websocket(ws, handler)
        else:
            async def run(ws: Any) -> None:
                await handler(_EngineioAsyncWebSocket(ws))

        return await wrapper_class(run, self._adapter)(environ)

    def create_route(self, app: Any, engine: Any, path: str) -> None:
        if self.mode == "aiohttp":
            # every method, so a PUT is answered by Engine.IO (400) rather than aiohttp (405)
            app.router.add_route("*", path, engine.handle_request)
            return
        if self.mode == "sanic":
            _sanic_route(app, engine, path)
            return
        create_route = self._async.get("create_route")
        if create_route is None:
            raise ConfigurationError(f"async_mode {self.mode!r} cannot attach to an app")
        create_route(app, engine, path)


class _SanicWebSocket(_EngineioAsyncWebSocket):
    """Sanic's websocket, which reports a closed peer by cancelling ``recv()``."""

    __slots__ = ("gone",)

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.gone = False

    async def receive(self) -> str | bytes | None:
        if self.gone:
            return None
        try:
            data = await self._ws.wait()
        except asyncio.CancelledError:
            # Sanic cancels a pending recv() when the close frame or the end of the stream
            # arrives; the reader runs in its own task (see _run_sanic_websocket), so only
            # an open websocket means that this task itself is being cancelled
            if _sanic_state_open(self._ws) and _being_cancelled():
                raise
            return None
        except Exception:
            return None
        return data if isinstance(data, (str, bytes)) else None


def _sanic_state_open(ws: Any) -> bool:
    protocol = getattr(getattr(ws, "_sock", None), "ws_proto", None)
    state = getattr(protocol, "state", None)
    return getattr(state, "name", "OPEN") == "OPEN"


async def _run_sanic_websocket(ws: Any, handler: Callable[[AsyncWebSocket], Awaitable[None]]
                               ) -> None:
    """Run ``handler`` in a task of its own, not in Sanic's connection task.

    When the TCP connection goes away (a browser tab that closes sends its close frame and
    its FIN together), Sanic cancels the connection task. The engine's reader must not be
    cancelled mid-way: it would never close its session, and the server would only notice
    at the next failed ping. Instead the reader is told that the peer is gone (its pending
    ``recv()`` ends, and the next ``receive()`` returns None) and is awaited while it
    closes the session.
    """
    adapter = _SanicWebSocket(ws)
    task = asyncio.ensure_future(handler(adapter))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.done():
            raise
        adapter.gone = True
        # a recv() pending in Sanic waits on this future (the close frame cancels it too)
        pending = getattr(getattr(ws, "_sock", None), "recv_cancel", None)
        if pending is not None and not pending.done():
            pending.cancel()
        await task  # a second cancellation leaves the reader to finish on its own


def _sanic_route(app: Any, engine: Any, path: str) -> None:
    """Route ``path`` of a Sanic app to ``engine`` (``sio.attach(app)``)."""

    async def socketio_endpoint(request: Any) -> Any:
        return await engine.handle_request(request)

    # a websocket session ends without an HTTP response: Sanic accepts that (instead of
    # logging "Invalid response type None" with a traceback) from websocket handlers
    socketio_endpoint.is_websocket = True  # type: ignore[attr-defined]
    app.enable_websocket()
    # every method, so a PUT is answered by Engine.IO (400) rather than Sanic (405)
    app.add_route(socketio_endpoint, path, name="socketio_" + path.strip("/").replace(
        "/", "_").replace(".", "_"), methods=["GET", "POST", "OPTIONS", "PUT", "DELETE",
                                              "PATCH"])


class _EngineioSyncWebSocket:
    __slots__ = ("_ws",)

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def send(self, data: str | bytes) -> None:
        self._ws.send(data)

    def receive(self) -> str | bytes | None:
        try:
            data = self._ws.wait()
        except Exception:
            return None
        return data if isinstance(data, (str, bytes)) else None

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass


class SyncDriver:
    """A WSGI host served by threads, eventlet or gevent (engineio's sync drivers)."""

    def __init__(self, mode: str, max_http_buffer_size: int = 1_000_000) -> None:
        self.mode = mode
        self._async = _load_engineio_driver(mode)
        self._adapter = _ServerAdapter(max_http_buffer_size)
        self.supports_websocket = self._async.get("websocket") is not None
        self.backend = SyncBackend(
            mode,
            thread_class=self._async["thread"],
            event_class=self._async["event"],
            sleep=self._async["sleep"],
            cooperative=mode != "threading",
        )

    @staticmethod
    def load(mode: str | None, max_http_buffer_size: int = 1_000_000) -> SyncDriver:
        mode = mode or DEFAULT_SYNC_MODE
        if mode not in ASYNC_MODES_SYNC:
            raise ConfigurationError(
                f"async_mode {mode!r} is not a WSGI mode (use one of {ASYNC_MODES_SYNC})"
            )
        return SyncDriver(mode, max_http_buffer_size)

    def translate(self, environ: Environ, start_response: Callable[..., Any]) -> Environ:
        environ[START_RESPONSE] = start_response
        return environ

    def is_websocket(self, environ: Environ) -> bool:
        return wants_websocket(environ)

    def respond(
        self, environ: Environ, status: int, headers: Headers, body: bytes
    ) -> Iterable[bytes]:
        environ[START_RESPONSE](status_line(status), headers)
        return [body]

    def read_body(self, environ: Environ, limit: int) -> bytes | None:
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        length = environ.get("CONTENT_LENGTH")
        if length:
            data = stream.read(min(int(length), limit + 1))
        elif environ.get("wsgi.input_terminated"):
            data = stream.read(limit + 1)
        else:
            return b""  # no length and no terminated stream: WSGI says there is no body
        return None if len(data) > limit else bytes(data)

    #: own werkzeug's/gunicorn's websocket sockets in threading mode (runtime/wsgi_direct.py);
    #: False (on ``sio.eio.driver``) keeps engineio's simple-websocket. (The "upgrade stall"
    #: it was switched off for was a race in tests/interop/test_restart.py, since fixed.)
    direct_websockets = True

    def websocket(self, environ: Environ, handler: Callable[[SyncWebSocket], None]) -> Any:
        wrapper_class = self._async.get("websocket")
        if wrapper_class is None:
            return None
        if self.mode == "threading" and self.direct_websockets:
            # werkzeug or gunicorn's own socket, read and written by us (wsgi_direct.py);
            # the frame limit sits above the engine's, which closes with a reason
            from .wsgi_handshake import NOT_DIRECT, serve

            served = serve(environ, environ[START_RESPONSE], handler,
                           self._adapter.max_http_buffer_size + 65536)
            if served is not NOT_DIRECT:
                return served

        def run(ws: Any) -> None:
            handler(_EngineioSyncWebSocket(ws))

        return wrapper_class(run, self._adapter)(environ, environ[START_RESPONSE])

    def create_route(self, app: Any, engine: Any, path: str) -> None:
        raise ConfigurationError(
            f"async_mode {self.mode!r} is WSGI: wrap the app with WSGIApp instead of attach()"
        )


class _TornadoTarget:
    """What engineio's Tornado handler reads from its "server": a request entry point and
    an origin policy. The engine checks origins itself, so Tornado is told to allow all."""

    cors_allowed_origins = "*"

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    async def handle_request(self, handler: Any) -> Any:
        return await self._engine.handle_request(handler)


def tornado_handler(engine: Any) -> Any:
    """A Tornado ``RequestHandler`` class serving ``engine`` (async_mode ``"tornado"``).

    Route it like any handler: ``(r"/socket.io/", tornado_handler(sio.eio))``.
    """
    from engineio.async_drivers.tornado import get_tornado_handler

    return get_tornado_handler(_TornadoTarget(engine))
