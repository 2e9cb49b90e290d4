"""The opening request of a connection -> the Django user and session, and a Handshake.

Behind Channels' ``AuthMiddlewareStack`` the ASGI scope already carries ``scope["user"]``
and ``scope["session"]``. Without Channels (plain ASGI or WSGI Django) they are resolved
here from the session cookie, the way Django's own middlewares would. Resolution may query
the database, so it runs in a synchronous context (a thread, see handlers.py) and its
result is kept with the connection's environ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

from ..handshake import Handshake

#: environ key of the :class:`DjangoContext` of a connection
CONTEXT_KEY = "sio_integrations.django"
_DB_ENGINE = "django.contrib.sessions.backends.db"


@dataclasses.dataclass(eq=False)
class DjangoContext:
    """What Django knows about a connection (one per Engine.IO connection)."""

    environ: Mapping[str, Any]
    user: Any = None
    session: Any = None
    resolved: bool = False

    @property
    def scope(self) -> Mapping[str, Any] | None:
        """The ASGI scope of the opening request (None under WSGI)."""
        scope = self.environ.get("asgi.scope")
        return scope if isinstance(scope, Mapping) else None

    def handshake(self, auth: Any = None) -> Handshake:
        """The core's :class:`Handshake`, with the Django user and session."""
        base = Handshake.from_environ(self.environ)
        return dataclasses.replace(base, user=self.user, session=self.session,
                                   extra={"auth": auth, "cookies": cookies(self.environ)})


def context_of(environ: Mapping[str, Any]) -> DjangoContext:
    """The connection's context, created (unresolved) on first use."""
    context = environ.get(CONTEXT_KEY)
    if context is None:
        context = DjangoContext(environ)
        if isinstance(environ, dict):
            environ[CONTEXT_KEY] = context
    assert isinstance(context, DjangoContext)
    return context


def needs_resolving(environ: Mapping[str, Any]) -> bool:
    """Whether :func:`resolve` still has work to do (cheap; no database)."""
    return not context_of(environ).resolved


def resolvable_inline(environ: Mapping[str, Any]) -> bool:
    """Whether resolving needs no database (Channels' middlewares did the work)."""
    scope = context_of(environ).scope
    return scope is not None and ("user" in scope or "session" in scope)


def resolve(environ: Mapping[str, Any]) -> DjangoContext:
    """Fill the user and session of a connection. Synchronous: may query the database."""
    context = context_of(environ)
    if context.resolved:
        return context
    scope = context.scope
    if scope is not None and ("user" in scope or "session" in scope):
        # Channels' middlewares resolved them already
        context.session = scope.get("session")
        context.user = scope.get("user")
    else:
        context.session = _session_from_cookie(environ)
        context.user = _user_from_session(context.session)
    context.resolved = True
    return context


def save_session(context: DjangoContext) -> bool:
    """Save the session through its store if a handler changed it. Synchronous."""
    session = context.session
    if session is None or not getattr(session, "modified", False):
        return False
    if getattr(session, "session_key", None) is None:
        # a session the browser has no cookie for: nobody could ever read it
        session.modified = False
        return False
    session.save()
    session.modified = False
    return True


def cookies(environ: Mapping[str, Any]) -> dict[str, str]:
    """The cookies of the opening request."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(str(environ.get("HTTP_COOKIE", "")))
    except Exception:  # a malformed header: no cookies, as Django would parse it
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _session_from_cookie(environ: Mapping[str, Any]) -> Any:
    from django.apps import apps
    from django.conf import settings

    if settings.SESSION_ENGINE == _DB_ENGINE and not apps.is_installed(
            "django.contrib.sessions"):
        return None  # sessions are not used by this project
    engine = import_module(settings.SESSION_ENGINE)
    key = cookies(environ).get(settings.SESSION_COOKIE_NAME)
    return engine.SessionStore(key)


def _user_from_session(session: Any) -> Any:
    from django.apps import apps

    if session is None or not apps.is_installed("django.contrib.auth"):
        return None
    from django.contrib.auth import get_user
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = session
    return get_user(request)


def in_event_loop() -> bool:
    """Whether the caller runs on an event loop (where the ORM must not be called)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
