"""``emit(..., callback=)`` to a client that never acknowledges (policy in security.md).

The callbacks are kept while the client is connected (as python-socketio and the JS
server do: there is no timeout on ``emit``) and all freed, never called, when it leaves.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from tests.runtime.live import wait_until

from .conftest import Live
from .test_delivery import Reader, _socket_sid
from .test_socketio_input import Attacker

COUNT = 10_000


def _register(live: Live, called: list[Any]) -> None:
    """``emitcb(count)``: the server emits ``count`` events with a callback each to the
    caller; every callback holds 1 KB of its own, so that a kept one is visible."""
    sio = live.sio

    def callback_for(n: int) -> Any:
        payload = bytes(1000) + n.to_bytes(4, "big")

        def callback(*args: Any) -> None:
            called.append((len(payload), args))

        return callback

    if live.kind == "asgi":
        async def emitcb(sid: str, count: int) -> int:
            for n in range(count):
                await sio.emit("q", n, to=sid, callback=callback_for(n))
            return count
    else:
        def emitcb(sid: str, count: int) -> int:  # type: ignore[misc]
            for n in range(count):
                sio.emit("q", n, to=sid, callback=callback_for(n))
            return count
    sio.on("emitcb", emitcb)


def test_unanswered_callbacks_are_freed_at_disconnect(make_live: Any) -> None:
    live = make_live()
    called: list[Any] = []
    _register(live, called)
    # warm-up: the containers reach their size for COUNT pending acks once
    warm = Attacker(live)
    warm_reader = Reader(warm)
    warm.send(f'42["emitcb",{COUNT}]')
    wait_until(lambda: warm_reader.events >= COUNT, 60, "the warm-up events")
    warm_reader.close()
    warm.ws.close()
    wait_until(lambda: not live.sio.manager.sockets, 10, "the warm-up client to leave")
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        attacker = Attacker(live)
        reader = Reader(attacker)  # reads every event, never acknowledges
        sid = _socket_sid(live)
        socket = live.sio.manager.get_socket(sid)
        attacker.send(f'42["emitcb",{COUNT}]')
        wait_until(lambda: reader.events >= COUNT, 60, "the events")
        assert len(socket.acks) == COUNT  # kept while the client is connected
        held, _ = tracemalloc.get_traced_memory()
        reader.close()
        attacker.ws.close()
        wait_until(lambda: not live.sio.manager.sockets, 10, "the client to leave")
        del socket
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held - before > COUNT * 1000  # the measurement sees the callbacks...
    assert after - before < 300_000, after - before  # ...and they are all gone
    assert called == []  # none was called, neither before nor at the disconnect
    assert live.disconnects[-1][1] in ("client disconnect", "transport close")
