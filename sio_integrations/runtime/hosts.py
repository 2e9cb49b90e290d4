"""Helpers for hosts that route requests themselves (python-socketio compatible names)."""

from __future__ import annotations

from typing import Any

from .drivers import tornado_handler


def get_tornado_handler(socketio_server: Any) -> Any:
    """A Tornado handler class for an ``AsyncServer(async_mode="tornado")``.

    ``Application([(r"/socket.io/", get_tornado_handler(sio))])``
    """
    return tornado_handler(socketio_server.eio)
