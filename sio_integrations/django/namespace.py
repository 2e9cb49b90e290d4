"""Class-based namespaces for the project's asyncio server.

``on_<event>`` methods may be plain functions (run in Django's thread-sensitive executor,
ORM allowed) or coroutines; the connection's user and session are resolved first and a
modified session is saved afterwards, as for decorated handlers (handlers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..runtime._async.namespace import AsyncNamespace
from ..runtime.sockets import positional_capacity
from .handlers import wrap_async


class Namespace(AsyncNamespace):
    """``sio.register_namespace(Chat("/chat"))`` with Django-aware ``on_<event>`` methods."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        handler = getattr(self, "on_" + event, None)
        if handler is None:
            return None
        if event in ("connect", "disconnect") and positional_capacity(handler) < len(args):
            args = args[:-1]  # legacy signature without auth / reason
        return await self._django_handler(event, handler)(*args)

    def _django_handler(self, event: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        namespace = self.namespace or "/"
        return wrap_async(handler, event, namespace, lambda: self.server)
