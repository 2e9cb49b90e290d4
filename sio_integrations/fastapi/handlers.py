"""Socket.IO handlers with FastAPI dependencies and Pydantic validation.

:class:`ConnectHandler` and :class:`EventHandler` are what the router registers with the
server: plain callables with python-socketio's calling convention (``connect(sid, environ,
auth)``, ``event(sid, *args)``) that solve the user function's dependencies, validate its
arguments and serialise its result.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import HTTPException, params
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from ..errors import ConnectionRefusedError  # noqa: A004
from ..runtime.context import ack_requested
from .bridge import handler_request
from .dependencies import HandlerSignature, analyse, call_with_dependencies
from .validation import (
    PayloadError,
    argument_specs,
    serialise,
    validate_arguments,
    validation_errors,
)

#: the event an invalid payload is reported with when the client asked for no ack
ERROR_EVENT = "error"
#: environ key holding each namespace's auth payload
AUTH_ENVIRON_KEY = "sio_integrations.auth"


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class ConnectHandler:
    """The ``connect`` handler of one namespace: the router's guards, then the user's."""

    def __init__(self, server: Any, namespace: str, guards: Sequence[params.Depends],
                 func: Callable[..., Any] | None = None) -> None:
        self.server = server
        self.namespace = namespace
        self.func = func
        self.signature = analyse(func if func is not None else _no_connect, guards)
        # connect(sid, environ, auth): only ``auth`` is a client payload worth validating
        self.positional = self.signature.positional
        self.auth_spec = argument_specs(self.positional[2:3])

    async def __call__(self, sid: str, environ: dict[str, Any], auth: Any = None) -> Any:
        # kept for the namespace's event handlers (the environ lives as long as the client)
        environ.setdefault(AUTH_ENVIRON_KEY, {})[self.namespace] = auth
        request = handler_request(environ, sid=sid, namespace=self.namespace, auth=auth,
                                  server=self.server)

        async def run(values: dict[str, Any]) -> Any:
            if self.func is None:
                return None
            args: list[Any] = [sid, environ, auth][: len(self.positional)]
            if self.auth_spec and len(args) == 3:
                args[2] = validate_arguments(self.auth_spec, [auth], False)[0]
            return await _maybe_await(self.func(*args, **values))

        try:
            return await call_with_dependencies(self.signature, request, run)
        except HTTPException as exc:
            raise ConnectionRefusedError(str(exc.detail), {
                "status": exc.status_code, "detail": jsonable_encoder(exc.detail)}) from None
        except RequestValidationError as exc:
            raise ConnectionRefusedError(
                "Validation error", {"status": 422, "detail": validation_errors(exc)}) from None
        except PayloadError as exc:
            raise ConnectionRefusedError(
                "Validation error", {"status": 422, "detail": exc.errors}) from None


class CatchAllConnect:
    """Runs the router's guards for namespaces that have no handlers of their own
    (accepted through the ``namespaces`` option); the server calls it with the namespace
    first, as any ``namespace="*"`` handler."""

    def __init__(self, server: Any, guards: Sequence[params.Depends]) -> None:
        self.server = server
        self.guards = list(guards)
        self._handlers: dict[str, ConnectHandler] = {}

    async def __call__(self, namespace: str, sid: str, environ: dict[str, Any],
                       auth: Any = None) -> Any:
        handler = self._handlers.get(namespace)
        if handler is None:
            handler = self._handlers[namespace] = ConnectHandler(
                self.server, namespace, self.guards)
        return await handler(sid, environ, auth)


def _no_connect(sid: str) -> None:
    """Stands in for a namespace without its own connect handler (guards only)."""


class EventHandler:
    """One event's handler: dependencies solved, arguments validated, result serialised."""

    def __init__(self, server: Any, namespace: str, event: str,
                 func: Callable[..., Any]) -> None:
        self.server = server
        self.namespace = namespace
        self.event = event
        self.func = func
        self.signature: HandlerSignature = analyse(func)
        if not self.signature.positional and self.signature.var_positional is None:
            raise TypeError(f"{func.__qualname__}: the first parameter receives the sid")
        # the first positional is the sid; the rest are the client's arguments
        self.specs = argument_specs(self.signature.positional[1:])
        self.extra_allowed = self.signature.var_positional is not None
        self.__name__ = getattr(func, "__name__", event)
        self.__doc__ = func.__doc__

    async def __call__(self, sid: str, *args: Any) -> Any:
        try:
            values = validate_arguments(self.specs, args, self.extra_allowed)
        except PayloadError as exc:
            return await self._refuse(sid, {"error": "validation_error",
                                            "detail": exc.errors})
        environ = self.server.get_environ(sid, self.namespace)

        async def run(injected: dict[str, Any]) -> Any:
            return await _maybe_await(self.func(sid, *values, **injected))

        if environ is None and self.signature.dependant is not None:
            return None  # the client left while the event was queued
        try:
            if self.signature.dependant is None or environ is None:
                result = await run({})
            else:
                auth = environ.get(AUTH_ENVIRON_KEY, {}).get(self.namespace)
                request = handler_request(environ, sid=sid, namespace=self.namespace,
                                          auth=auth, server=self.server)
                result = await call_with_dependencies(self.signature, request, run)
        except HTTPException as exc:  # from a dependency or the handler itself
            return await self._refuse(sid, {"error": "http_error", "status": exc.status_code,
                                            "detail": jsonable_encoder(exc.detail)})
        except RequestValidationError as exc:
            return await self._refuse(sid, {"error": "validation_error",
                                            "detail": validation_errors(exc)})
        return serialise(result)

    async def _refuse(self, sid: str, payload: dict[str, Any]) -> Any:
        """Tell the client why its event was refused: as the ack, or as an error event."""
        payload = {**payload, "event": self.event}
        if ack_requested():
            return payload
        await self.server.emit(ERROR_EVENT, payload, to=sid, namespace=self.namespace)
        return None
