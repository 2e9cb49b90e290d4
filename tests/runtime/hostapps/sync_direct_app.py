"""A threading-mode app for gunicorn (tests/runtime/test_wsgi_direct_ws.py): echo, plus
``kind``, the class of the websocket object the engine reads the caller's session with."""

from __future__ import annotations

from typing import Any

import sio_integrations as socketio

sio = socketio.Server(async_mode="threading", ping_interval=20, ping_timeout=20)
sio.eio.driver.direct_websockets = True  # the default; explicit, as the test checks it


@sio.event  # type: ignore[untyped-decorator]
def echo(sid: str, data: Any) -> Any:
    return data


@sio.event  # type: ignore[untyped-decorator]
def kind(sid: str) -> str:
    eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
    return type(sio.eio._clients[eio_sid].ws).__name__


app = socketio.WSGIApp(sio)
print("APP LOADED", flush=True)
