"""The Django side of a connection, for handlers: user, session, scope, handshake.

Inside handlers registered through ``sio`` the user and session are already resolved,
so these calls never touch the database and work in sync and async handlers alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import LocalProtocolError
from ..handshake import Handshake
from .bridge import DjangoContext, in_event_loop, resolvable_inline, resolve, save_session
from .handlers import in_thread, lookup
from .server import sio


def connection(sid: str, namespace: str | None = None) -> DjangoContext:
    """The :class:`DjangoContext` of ``sid`` (resolved); raises for an unknown sid."""
    context = lookup(sio.server, sid, namespace or "/")
    if context is None:
        raise LocalProtocolError(f"no connection {sid!r} in namespace {namespace or '/'!r}")
    if not context.resolved:
        if not resolvable_inline(context.environ) and in_event_loop():
            raise LocalProtocolError(
                "the Django user of this connection is not loaded yet: register the handler "
                "through sio_integrations.django.sio, or use await aget_user(sid)")
        resolve(context.environ)
    return context


def get_user(sid: str, namespace: str | None = None) -> Any:
    """The user who opened the connection (``AnonymousUser`` if not logged in).

    None when ``django.contrib.auth`` is not installed.
    """
    return connection(sid, namespace).user


async def aget_user(sid: str, namespace: str | None = None) -> Any:
    """:func:`get_user` from any async code (loads the user in a thread if needed)."""
    context = lookup(sio.server, sid, namespace or "/")
    if context is None:
        raise LocalProtocolError(f"no connection {sid!r} in namespace {namespace or '/'!r}")
    if not context.resolved:
        await in_thread(resolve, context.environ)
    return context.user


def get_http_session(sid: str, namespace: str | None = None) -> Any:
    """The Django session of the connection (``request.session`` of the opening request).

    Changes made in a handler are saved through the session store after it returns.
    """
    return connection(sid, namespace).session


def save_http_session(sid: str, namespace: str | None = None) -> bool:
    """Save the session now if it changed (synchronous code); True if it was saved."""
    return save_session(connection(sid, namespace))


async def asave_http_session(sid: str, namespace: str | None = None) -> bool:
    """:func:`save_http_session` for async code (the store is called in a thread)."""
    result: bool = await in_thread(save_session, connection(sid, namespace))
    return result


def get_scope(sid: str, namespace: str | None = None) -> Mapping[str, Any] | None:
    """The ASGI scope of the opening request (None under WSGI)."""
    return connection(sid, namespace).scope


def get_handshake(sid: str, namespace: str | None = None) -> Handshake:
    """The core's :class:`~sio_integrations.handshake.Handshake`, with user and session."""
    return connection(sid, namespace).handshake()
