"""Handler registration and lookup, shared by the sync and async servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import LocalProtocolError

F = TypeVar("F", bound=Callable[..., Any])

#: events that only the library raises; a peer can never trigger them
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class HandlerRegistry:
    """Decorator-registered handlers and class-based namespaces of one server."""

    def __init__(self, *, asyncio_based: bool) -> None:
        self.asyncio_based = asyncio_based
        #: namespace ('*' for every namespace) -> event ('*' for every event) -> handler
        self.handlers: dict[str, dict[str, Callable[..., Any]]] = {}
        #: namespace ('*' for every namespace) -> Namespace object
        self.namespace_handlers: dict[str, Any] = {}

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register ``handler`` for ``event``; without a handler, return a decorator."""
        if not isinstance(event, str):
            raise LocalProtocolError("event names must be strings")
        ns = namespace or "/"

        def set_handler(func: F) -> F:
            self.handlers.setdefault(ns, {})[event] = func
            return func

        if handler is None:
            return set_handler
        set_handler(handler)
        return None

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator registering a handler named after the function."""
        return event_decorator(self.on, args, kwargs)

    def register_namespace(self, namespace_handler: Any) -> None:
        """Register a class-based namespace (``Namespace`` / ``AsyncNamespace``)."""
        if not hasattr(namespace_handler, "trigger_event") or not hasattr(
                namespace_handler, "namespace"):
            raise ValueError("not a namespace instance")
        if namespace_handler.is_asyncio_based() != self.asyncio_based:
            raise ValueError("use Namespace with Server and AsyncNamespace with AsyncServer")
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler

    def known_namespace(self, namespace: str, accepted: Any) -> bool:
        """Whether a client may connect to ``namespace``."""
        if namespace in self.handlers or namespace in self.namespace_handlers:
            return True
        if accepted == "*":
            return True
        return namespace in (accepted or ("/",))

    def find(self, event: str, namespace: str, args: tuple[Any, ...]
             ) -> tuple[Callable[..., Any] | None, tuple[Any, ...]]:
        """The function handler for ``event`` and the arguments it takes.

        Resolution order: exact namespace and event, the namespace's catch-all event,
        the catch-all namespace's event, the catch-all namespace's catch-all event.
        Catch-all event handlers get the event name first; catch-all namespace handlers
        get the namespace first (both: event, namespace).
        """
        handlers = self.handlers.get(namespace)
        if handlers is not None:
            handler = handlers.get(event)
            if handler is not None:
                return handler, args
            if event not in RESERVED_EVENTS:
                handler = handlers.get("*")
                if handler is not None:
                    return handler, (event, *args)
        handlers = self.handlers.get("*")
        if handlers is not None:
            handler = handlers.get(event)
            if handler is not None:
                return handler, (namespace, *args)
            if event not in RESERVED_EVENTS:
                handler = handlers.get("*")
                if handler is not None:
                    return handler, (event, namespace, *args)
        return None, args

    def find_namespace(self, namespace: str, args: tuple[Any, ...]
                       ) -> tuple[Any | None, tuple[Any, ...]]:
        """The class-based namespace handling ``namespace`` and its arguments."""
        handler = self.namespace_handlers.get(namespace)
        if handler is not None:
            return handler, args
        handler = self.namespace_handlers.get("*")
        if handler is not None:
            return handler, (namespace, *args)
        return None, args


def event_decorator(on: Callable[..., Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """``@x.event`` and ``@x.event(namespace=...)`` for any ``on(event, func, ...)``:
    registers the decorated function under its own name."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        func = args[0]
        on(func.__name__, func)
        return func

    def register(func: F) -> F:
        on(func.__name__, func, *args, **kwargs)
        return func

    return register
