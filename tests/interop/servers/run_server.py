"""Serve the interop scenario app under one host and print ``LISTENING <port>``.

Usage: ``python run_server.py MODE IMPL [option=json ...]`` where MODE is one of
asgi (uvicorn), asgi-h11-wsproto (uvicorn with h11 and wsproto), aiohttp, threading
(werkzeug, threaded), eventlet (eventlet.wsgi), gevent (gevent.pywsgi) and IMPL is
``ours`` or ``reference``. Extra arguments are server options, their values JSON
(``connect_timeout=1``).
"""

from __future__ import annotations

import sys

MODE = sys.argv[1]
# Green-thread hosts must patch the standard library before anything else loads.
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
from typing import Any  # noqa: E402

from scenario_app import build  # noqa: E402

# 0: any free port; a fixed one (SIO_PORT) lets a test restart a server in place
PORT = int(os.environ.get("SIO_PORT", "0"))


def announce(port: int) -> None:
    print(f"LISTENING {port}", flush=True)


def parse_options(args: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for arg in args:
        key, _, value = arg.partition("=")
        options[key] = json.loads(value)
    return options


def serve_asgi(impl: str, options: dict[str, Any], **uvicorn_options: Any) -> None:
    import uvicorn

    sio, socketio_mod = build(impl, "asgi", **options)
    app = socketio_mod.ASGIApp(sio)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", PORT))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", **uvicorn_options)
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                return
            await asyncio.sleep(0.01)
        announce(sock.getsockname()[1])
        await task

    asyncio.run(main())


def serve_aiohttp(impl: str, options: dict[str, Any]) -> None:
    from aiohttp import web

    sio, _ = build(impl, "aiohttp", **options)
    app = web.Application()
    sio.attach(app)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", PORT)
        await site.start()
        announce(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_threading(impl: str, options: dict[str, Any]) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sio, socketio_mod = build(impl, "threading", **options)
    server = make_server("127.0.0.1", PORT, socketio_mod.WSGIApp(sio), threaded=True)
    announce(server.server_port)
    server.serve_forever()


def serve_eventlet(impl: str, options: dict[str, Any]) -> None:
    import eventlet
    import eventlet.wsgi

    sio, socketio_mod = build(impl, "eventlet", **options)
    listener = eventlet.listen(("127.0.0.1", PORT))
    announce(listener.getsockname()[1])
    eventlet.wsgi.server(listener, socketio_mod.WSGIApp(sio), log_output=False)


def serve_gevent(impl: str, options: dict[str, Any]) -> None:
    from gevent import pywsgi

    sio, socketio_mod = build(impl, "gevent", **options)
    server = pywsgi.WSGIServer(("127.0.0.1", PORT), socketio_mod.WSGIApp(sio), log=None)
    server.start()
    announce(server.server_port)
    server.serve_forever()


def serve_asgi_h11_wsproto(impl: str, options: dict[str, Any]) -> None:
    """uvicorn's pure-Python protocol stack: h11 for HTTP, wsproto for websockets."""
    serve_asgi(impl, options, http="h11", ws="wsproto")


SERVERS = {
    "asgi": serve_asgi,
    "asgi-h11-wsproto": serve_asgi_h11_wsproto,
    "aiohttp": serve_aiohttp,
    "threading": serve_threading,
    "eventlet": serve_eventlet,
    "gevent": serve_gevent,
}

if __name__ == "__main__":
    SERVERS[MODE](sys.argv[2], parse_options(sys.argv[3:]))
