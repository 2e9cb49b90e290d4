"""A Socket.IO server on Sanic or Tornado that prints every disconnect (run as a process).

``python -m tests.hardening.close_app KIND PORT`` with KIND one of ``sanic-plugin``
(the ``sio_integrations.sanic`` extension), ``sanic-attach`` (``AsyncServer.attach``),
``tornado-plugin`` (``SocketIOHandler``) or ``tornado-handler`` (``get_tornado_handler``).
Prints ``READY`` once listening, then ``DISCONNECT <sid> <reason>`` as each disconnect
handler runs, so a test can time them from outside.

Namespace ``/boom`` has a connect handler that fails with an unexpected exception whose
text is :data:`SECRET`; ``/http`` one that refuses with the host's own HTTP exception
(Sanic ``Forbidden``; Tornado ``HTTPError(500)`` whose log message is also secret).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import sio_integrations as socketio

#: text that may reach the server log but never a client
SECRET = "db password is hunter2"


def handlers(server: Any) -> None:
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        print(f"CONNECT {sid}", flush=True)

    async def disconnect(sid: str, reason: str) -> None:
        print(f"DISCONNECT {sid} {reason}", flush=True)

    async def echo(sid: str, data: Any) -> Any:
        return data

    async def boom(sid: str, environ: dict[str, Any], auth: Any) -> None:
        raise RuntimeError(SECRET)

    def http_error(sid: str, environ: dict[str, Any], auth: Any) -> None:
        try:
            from tornado.web import HTTPError
        except ImportError:
            HTTPError = None  # noqa: N806
        if "tornado" in sys.argv[1] and HTTPError is not None:
            raise HTTPError(500, "log only: %s", SECRET)
        from sanic.exceptions import Forbidden

        raise Forbidden("members only")

    server.on("connect", connect)
    server.on("disconnect", disconnect)
    server.on("echo", echo)
    server.on("connect", boom, namespace="/boom")
    server.on("connect", http_error, namespace="/http")


def run_sanic(kind: str, port: int) -> None:
    from sanic import Sanic

    app = Sanic("sio_close_app")
    if kind == "sanic-plugin":
        from sio_integrations.sanic import SocketIO

        handlers(SocketIO(app, cors_allowed_origins=[]))
    else:
        sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        handlers(sio)
        sio.attach(app)

    @app.after_server_start
    async def ready(app: Any) -> None:
        print("READY", flush=True)

    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


async def run_tornado(kind: str, port: int) -> None:
    import tornado.web

    if kind == "tornado-plugin":
        from sio_integrations.tornado import SocketIO, SocketIOHandler

        plugin = SocketIO(cors_allowed_origins=[])
        handlers(plugin)
        app = tornado.web.Application([(r"/socket.io/", SocketIOHandler,
                                        {"socketio": plugin})])
        plugin.init_app(app)
    else:
        sio = socketio.AsyncServer(async_mode="tornado", cors_allowed_origins=[])
        handlers(sio)
        app = tornado.web.Application([(r"/socket.io/", socketio.get_tornado_handler(sio))])
    app.listen(port, address="127.0.0.1")
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind.startswith("sanic"):
        run_sanic(kind, port)
    else:
        asyncio.run(run_tornado(kind, port))
