"""Ctrl-C for synchronous clients: disconnect them before the interrupt propagates.

A program whose main thread sleeps or loops (instead of sitting in ``sio.wait()``, which
handles the interrupt itself) would otherwise exit with the client's threads still
running and the server never told. The handler is installed once, from the main thread,
by the first client connected with ``handle_sigint=True``, and chains to the previous one.
asyncio clients do not use it: ``asyncio.run`` turns Ctrl-C into cancelling the main task,
which ``AsyncClient.wait()`` answers by disconnecting.
"""

from __future__ import annotations

import signal
import threading
import weakref
from typing import Any

__all__ = ["register", "unregister"]

_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_previous: Any = None
_installed = False
_lock = threading.Lock()


def register(client: Any) -> None:
    """Disconnect ``client`` on SIGINT (installs the handler once, main thread only)."""
    global _installed, _previous
    with _lock:
        _clients.add(client)
        if _installed or threading.current_thread() is not threading.main_thread():
            return
        _previous = signal.signal(signal.SIGINT, _handler)
        _installed = True


def unregister(client: Any) -> None:
    with _lock:
        _clients.discard(client)


def _handler(signum: int, frame: Any) -> Any:
    clients = list(_clients)
    if clients:
        # in a thread: the interrupted main thread may hold one of the client's locks
        worker = threading.Thread(target=_disconnect_all, args=(clients,), daemon=True)
        worker.start()
        worker.join(max(c.options.request_timeout for c in clients) + 1)
    if callable(_previous):
        return _previous(signum, frame)
    return signal.default_int_handler(signum, frame)


def _disconnect_all(clients: list[Any]) -> None:
    for client in clients:
        try:
            client.disconnect()
        except Exception:  # noqa: S110 - best effort while the process is interrupted
            pass
