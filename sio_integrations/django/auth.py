"""``login_required`` for ``connect`` handlers: anonymous users are refused."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ConnectionRefusedError, LocalProtocolError  # noqa: A004
from .bridge import context_of, in_event_loop, resolvable_inline, resolve

F = TypeVar("F", bound=Callable[..., Any])

#: the CONNECT_ERROR a refused anonymous client gets (``err.message``, ``err.data``)
MESSAGE = "authentication required"
DATA = {"status": 401}


def login_required(handler: F) -> F:
    """Refuse the connection unless the Django user is authenticated.

    Decorates ``connect(sid, environ, auth)`` functions and ``on_connect`` methods, sync
    or async. The client gets ``connect_error`` with the message
    ``"authentication required"`` and the data ``{"status": 401}``.
    """
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def async_guard(*args: Any, **kwargs: Any) -> Any:
            _check(args)
            return await handler(*args, **kwargs)

        return async_guard  # type: ignore[return-value]

    @functools.wraps(handler)
    def guard(*args: Any, **kwargs: Any) -> Any:
        _check(args)
        return handler(*args, **kwargs)

    return guard  # type: ignore[return-value]


def is_authenticated(user: Any) -> bool:
    """Whether ``user`` is a logged-in Django user."""
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _check(args: tuple[Any, ...]) -> None:
    environ = next((a for a in args if isinstance(a, Mapping) and "REQUEST_METHOD" in a), None)
    if environ is None:
        raise LocalProtocolError("login_required decorates connect handlers "
                                 "(sid, environ, auth)")
    context = context_of(environ)
    if not context.resolved:
        if not resolvable_inline(environ) and in_event_loop():
            raise LocalProtocolError("login_required: register the handler through "
                                     "sio_integrations.django.sio (the user is not loaded)")
        resolve(environ)
    if not is_authenticated(context.user):
        raise ConnectionRefusedError(MESSAGE, dict(DATA))
