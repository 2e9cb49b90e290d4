"""Handler wrappers: the Django user/session resolved, the ORM used safely, sessions saved.

Every handler registered through the project's server (``sio.on``, ``sio.event``) is
wrapped so that:

* the connection's user and session are resolved before it runs (see bridge.py);
* under the asyncio server a synchronous handler runs in Django's thread-sensitive
  executor, like Channels' ``database_sync_to_async`` (stale database connections are
  closed around it), so it may use the ORM freely; coroutine handlers run on the loop and
  may use the async ORM;
* a Django session it modified is saved through the session store afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from asgiref.sync import sync_to_async

from .bridge import DjangoContext, context_of, resolvable_inline, resolve, save_session

#: (namespace, sid) -> context; an entry lives as long as its connection's environ
_contexts: weakref.WeakValueDictionary[tuple[str, str], DjangoContext] = (
    weakref.WeakValueDictionary())


def remember(namespace: str, sid: str, environ: Mapping[str, Any]) -> DjangoContext:
    """Record the connection of ``sid`` (also after it left, for ``disconnect``)."""
    context = context_of(environ)
    _contexts[(namespace, sid)] = context
    return context


def lookup(server: Any, sid: str, namespace: str) -> DjangoContext | None:
    """The context of ``sid`` in ``namespace``, or None for an unknown sid."""
    context = _contexts.get((namespace, sid))
    if context is not None:
        return context
    environ = server.get_environ(sid, namespace)
    return remember(namespace, sid, environ) if environ is not None else None


def locate(event: str, namespace: str, args: tuple[Any, ...]
           ) -> tuple[str, str, Mapping[str, Any] | None] | None:
    """(namespace, sid, environ or None) from a handler's arguments.

    Catch-all handlers receive the event name first, then (catch-all namespace) the
    namespace; ``connect`` handlers receive the environ after the sid.
    """
    index = 1 if event == "*" else 0
    if namespace == "*":
        if len(args) <= index:
            return None
        namespace = args[index]
        index += 1
    if len(args) <= index or not isinstance(args[index], str):
        return None
    sid = args[index]
    environ = None
    if event == "connect" and len(args) > index + 1 and isinstance(args[index + 1], Mapping):
        environ = args[index + 1]
    return namespace, sid, environ


def _find_context(server: Any, event: str, namespace: str,
                  args: tuple[Any, ...]) -> DjangoContext | None:
    where = locate(event, namespace, args)
    if where is None:
        return None
    ns, sid, environ = where
    if environ is not None:
        return remember(ns, sid, environ)
    return lookup(server, sid, ns)


def _call_sync(func: Callable[..., Any], context: DjangoContext | None,
               args: tuple[Any, ...]) -> Any:
    """Run a synchronous handler the way a Django request runs a view."""
    from django.db import close_old_connections

    close_old_connections()
    try:
        if context is not None:
            resolve(context.environ)
        try:
            return func(*args)
        finally:
            if context is not None:
                save_session(context)
    finally:
        close_old_connections()


def _apply(func: Callable[..., Any], *args: Any) -> Any:
    return func(*args)


_thread_sensitive = sync_to_async(_apply, thread_sensitive=True)


async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in Django's thread-sensitive executor, from any task.

    The call runs in a task of its own: asgiref marks the calling context while its
    single executor thread is busy, and the server may continue a handler's coroutine in
    another task than the one it started in (eager start), which would leave the mark
    behind and make the next call fail with "would deadlock".
    """
    return await asyncio.ensure_future(_thread_sensitive(func, *args))


def wrap_async(func: Callable[..., Any], event: str, namespace: str,
               server: Callable[[], Any]) -> Callable[..., Any]:
    """The asyncio server's wrapper of ``func`` (``server()`` gives the current server)."""
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def run_async(*args: Any) -> Any:
            context = _find_context(server(), event, namespace, args)
            if context is not None and not context.resolved:
                if resolvable_inline(context.environ):
                    resolve(context.environ)
                else:
                    await in_thread(resolve, context.environ)
            try:
                return await func(*args)
            finally:
                if context is not None and getattr(context.session, "modified", False):
                    await in_thread(save_session, context)

        return run_async

    @functools.wraps(func)
    async def run_sync(*args: Any) -> Any:
        context = _find_context(server(), event, namespace, args)
        return await in_thread(_call_sync, func, context, args)

    return run_sync


def wrap_sync(func: Callable[..., Any], event: str, namespace: str,
              server: Callable[[], Any]) -> Callable[..., Any]:
    """The synchronous (WSGI) server's wrapper of ``func``."""
    @functools.wraps(func)
    def run(*args: Any) -> Any:
        context = _find_context(server(), event, namespace, args)
        return _call_sync(func, context, args)

    return run


def remember_connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
    """A namespace's ``connect`` when the project registers none (the wrapper does it all)."""


async def aremember_connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
    """:func:`remember_connect` for the asyncio server."""

