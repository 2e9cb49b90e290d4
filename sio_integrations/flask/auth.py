"""``authenticated_only``: Flask-Login's ``login_required`` for Socket.IO handlers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from flask import request

from ..errors import ConnectionRefusedError  # noqa: A004
from . import context

F = TypeVar("F", bound=Callable[..., Any])

#: the acknowledgement of an event refused with ``disconnect=False``
UNAUTHENTICATED = {"error": "unauthenticated"}


@overload
def authenticated_only(func: F) -> F: ...


@overload
def authenticated_only(*, disconnect: bool = True) -> Callable[[F], F]: ...


def authenticated_only(func: Any = None, *, disconnect: bool = True) -> Any:
    """Run the handler only when Flask-Login's ``current_user`` is authenticated.

    ``current_user`` is evaluated for every event, so a user who logged out over HTTP
    (with a server-side session) is refused from the next event on. A refused ``connect``
    raises ``ConnectionRefusedError("unauthenticated")``; a refused event disconnects the
    client from the namespace, or with ``disconnect=False`` is acknowledged with
    ``{"error": "unauthenticated"}`` without running.
    """

    def decorator(handler: F) -> F:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if is_authenticated():
                return handler(*args, **kwargs)
            event = getattr(request, "event", None) or {}
            if event.get("message") == "connect":
                raise ConnectionRefusedError("unauthenticated")
            if disconnect:
                context.disconnect()
                return None
            return dict(UNAUTHENTICATED)

        return wrapper  # type: ignore[return-value]

    if func is not None:
        return decorator(func)
    return decorator


def is_authenticated() -> bool:
    """Whether Flask-Login's ``current_user`` is authenticated (False without Flask-Login)."""
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover - depends on the environment
        return False
    return bool(getattr(current_user, "is_authenticated", False))
