"""FastAPI dependencies for Socket.IO handlers, solved by FastAPI's own machinery.

A handler's parameters are split in two: the Socket.IO ones (``sid``, then the event's
arguments, or ``sid, environ, auth`` for ``connect``), passed positionally, and the FastAPI
ones (``Depends(...)``, ``Annotated[..., Depends(...)]``, ``Request``), solved with
``fastapi.dependencies.utils.solve_dependencies`` against the opening request.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, solve_dependencies
from fastapi.exceptions import RequestValidationError
from starlette.requests import HTTPConnection, Request

from ..handshake import Handshake
from .bridge import AUTH_KEY, NAMESPACE_KEY, SID_KEY, handshake_from_scope


@dataclass(frozen=True, kw_only=True)
class HandlerSignature:
    """A handler's parameters, split into Socket.IO positionals and FastAPI dependencies."""

    #: positional Socket.IO parameters, annotations resolved
    positional: tuple[inspect.Parameter, ...]
    #: a ``*args`` parameter, if any
    var_positional: inspect.Parameter | None
    #: the dependency tree of the FastAPI parameters (None when there are none)
    dependant: Dependant | None
    return_annotation: Any


def _is_dependency(param: inspect.Parameter) -> bool:
    if isinstance(param.default, params.Depends):
        return True
    annotation = param.annotation
    if typing.get_origin(annotation) is Annotated:
        if any(isinstance(m, params.Depends) for m in typing.get_args(annotation)[1:]):
            return True
        annotation = typing.get_args(annotation)[0]
    # handlers see the opening request as an HTTP Request (never a WebSocket)
    return annotation in (Request, HTTPConnection)


def _dependant_for(parameters: Sequence[inspect.Parameter], name: str) -> Dependant | None:
    if not parameters:
        return None

    def call(**values: Any) -> None:  # only its signature matters to get_dependant
        return None

    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters])
    return get_dependant(path="", call=call, name=name)


def analyse(func: Callable[..., Any], extra: Sequence[params.Depends] = ()) -> HandlerSignature:
    """Split ``func``'s parameters; ``extra`` dependencies (a router's guards) run first."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable annotations: keep them as written
        hints = {}
    signature = inspect.signature(func)
    positional: list[inspect.Parameter] = []
    var_positional = None
    injected: list[inspect.Parameter] = [
        inspect.Parameter(f"_sio_guard_{i}", inspect.Parameter.KEYWORD_ONLY, default=dep)
        for i, dep in enumerate(extra)
    ]
    for param in signature.parameters.values():
        param = param.replace(annotation=hints.get(param.name, param.annotation))
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if _is_dependency(param):
            injected.append(param)
        elif param.kind is inspect.Parameter.VAR_POSITIONAL:
            var_positional = param
        elif param.kind is inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(
                f"{func.__qualname__}: keyword-only parameter {param.name!r} is neither a "
                "Socket.IO argument nor a FastAPI dependency")
        else:
            positional.append(param)
    return HandlerSignature(
        positional=tuple(positional),
        var_positional=var_positional,
        dependant=_dependant_for(injected, getattr(func, "__name__", "handler")),
        return_annotation=hints.get("return", signature.return_annotation),
    )


async def call_with_dependencies(
    sig: HandlerSignature,
    request: Request,
    call: Callable[[dict[str, Any]], Awaitable[Any]],
) -> Any:
    """Solve ``sig``'s dependencies against ``request`` and run ``call(values)``.

    Dependencies with ``yield`` are finalised after ``call`` returns. Invalid inputs raise
    ``RequestValidationError``; an ``HTTPException`` from a dependency propagates.
    """
    if sig.dependant is None:
        return await call({})
    app = request.scope.get("app")
    async with AsyncExitStack() as request_stack, AsyncExitStack() as function_stack:
        request.scope["fastapi_inner_astack"] = request_stack
        request.scope["fastapi_function_astack"] = function_stack
        solved = await solve_dependencies(
            request=request,
            dependant=sig.dependant,
            dependency_overrides_provider=app,
            async_exit_stack=request_stack,
            embed_body_fields=False,
        )
        if solved.errors:
            raise RequestValidationError(solved.errors)
        values = {k: v for k, v in solved.values.items() if not k.startswith("_sio_guard_")}
        return await call(values)


# -- dependencies a handler (or its dependencies) may declare ------------------------------

def get_sid(request: Request) -> str:
    """The Socket.IO sid of the client whose handler is running."""
    return str(_socket_scope(request, SID_KEY))


def get_namespace(request: Request) -> str:
    """The namespace of the running handler."""
    return str(_socket_scope(request, NAMESPACE_KEY))


def get_auth(request: Request) -> Any:
    """The client's Socket.IO ``auth`` payload (``io({auth: {...}})``), or None."""
    _socket_scope(request, SID_KEY)
    return request.scope.get(AUTH_KEY)


def get_handshake(request: Request) -> Handshake:
    """The connection's :class:`~sio_integrations.handshake.Handshake` (headers, query,
    remote address, Starlette session and user, auth payload in ``extra["auth"]``)."""
    _socket_scope(request, SID_KEY)
    return handshake_from_scope(request.scope, request.scope.get(AUTH_KEY))


def _socket_scope(request: Request, key: str) -> Any:
    if key not in request.scope:
        raise RuntimeError("this dependency is only available to Socket.IO handlers")
    return request.scope[key]


#: ``sid: SocketID`` in a handler or dependency gives the client's sid
SocketID = Annotated[str, Depends(get_sid)]
#: ``auth: SocketAuth`` gives the client's Socket.IO auth payload
SocketAuth = Annotated[Any, Depends(get_auth)]
#: ``handshake: SocketHandshake`` gives the connection's Handshake
SocketHandshake = Annotated[Handshake, Depends(get_handshake)]
#: ``namespace: SocketNamespace`` gives the handler's namespace
SocketNamespace = Annotated[str, Depends(get_namespace)]

__all__ = ["SocketAuth", "SocketHandshake", "SocketID", "SocketNamespace", "analyse",
           "call_with_dependencies", "get_auth", "get_handshake", "get_namespace", "get_sid"]
