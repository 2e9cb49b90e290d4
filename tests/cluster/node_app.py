"""One node of a test cluster, run as its own process.

    python -m tests.cluster.node_app async|sync PORT

Settings come from the environment: ``NODE_MQ`` (the queue URL), ``NODE_MQ_OPTIONS`` (JSON
of extra server options). Tests drive the node through a client: the ``op`` event runs one
server or manager operation and acknowledges with its result (or ``{"error": name}``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import faulthandler
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

import sio_integrations as socketio

# `kill -USR1 <pid>` dumps every thread's stack into the node's log (hung-test forensics)
faulthandler.register(signal.SIGUSR1)
logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s %(message)s")


def options() -> dict[str, Any]:
    extra = json.loads(os.environ.get("NODE_MQ_OPTIONS", "{}"))
    return {"message_queue": os.environ["NODE_MQ"], "cors_allowed_origins": "*", **extra}


def info(socket: Any) -> dict[str, Any]:
    return {"sid": socket.sid, "rooms": sorted(socket.rooms), "node": socket.node,
            "data": socket.data, "agent": socket.handshake["headers"].get("x-agent")}


def make_async() -> Any:
    sio = socketio.AsyncServer(async_mode="asgi", **options())

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        await sio.save_session(sid, {"auth": auth})

    @sio.manager.on_server_event("whoami")
    async def whoami(tag: str) -> Any:
        return [tag, os.environ["NODE_NAME"]]

    @sio.event
    async def op(sid: str, name: str, kw: dict[str, Any]) -> Any:
        m = sio.manager
        try:
            if name == "emit":
                await sio.emit(kw["event"], kw.get("data"), to=kw.get("to"),
                               skip_sid=kw.get("skip"))
            elif name == "enter":
                await sio.enter_room(kw.get("sid", sid), kw["room"])
            elif name == "leave":
                await sio.leave_room(kw.get("sid", sid), kw["room"])
            elif name == "close_room":
                await sio.close_room(kw["room"])
            elif name == "disconnect":
                await sio.disconnect(kw["sid"])
            elif name == "call":
                return await sio.call(kw["event"], kw.get("data"), to=kw["sid"],
                                      timeout=kw.get("timeout", 5))
            elif name == "emit_cb":
                answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                await sio.emit(kw["event"], kw.get("data"), to=kw["sid"],
                               callback=lambda *a: answer.set_result(list(a)))
                return await asyncio.wait_for(answer, 5)
            elif name == "fetch":
                return sorted((info(s) for s in await m.fetch_sockets(
                    kw.get("room"), skip=kw.get("skip"), timeout=kw.get("timeout"))),
                    key=lambda d: d["sid"])
            elif name == "sockets_join":
                await m.sockets_join(kw["rooms"], room=kw.get("room"))
            elif name == "sockets_leave":
                await m.sockets_leave(kw["rooms"], room=kw.get("room"))
            elif name == "disconnect_sockets":
                await m.disconnect_sockets(room=kw.get("room"))
            elif name == "server_call":
                return sorted(await m.server_call("whoami", kw["tag"],
                                                  timeout=kw.get("timeout")))
            elif name == "rooms":
                return sorted(sio.rooms(kw.get("sid", sid)))
            elif name == "health":
                return dataclasses.asdict(m.health())
            return "ok"
        except Exception as exc:
            return {"error": type(exc).__name__, "message": str(exc)}

    return sio


def make_sync() -> Any:
    sio = socketio.Server(async_mode="threading", **options())

    @sio.event
    def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        sio.save_session(sid, {"auth": auth})

    @sio.manager.on_server_event("whoami")
    def whoami(tag: str) -> Any:
        return [tag, os.environ["NODE_NAME"]]

    @sio.event
    def op(sid: str, name: str, kw: dict[str, Any]) -> Any:
        m = sio.manager
        try:
            if name == "emit":
                sio.emit(kw["event"], kw.get("data"), to=kw.get("to"), skip_sid=kw.get("skip"))
            elif name == "enter":
                sio.enter_room(kw.get("sid", sid), kw["room"])
            elif name == "leave":
                sio.leave_room(kw.get("sid", sid), kw["room"])
            elif name == "close_room":
                sio.close_room(kw["room"])
            elif name == "disconnect":
                sio.disconnect(kw["sid"])
            elif name == "call":
                return sio.call(kw["event"], kw.get("data"), to=kw["sid"],
                                timeout=kw.get("timeout", 5))
            elif name == "emit_cb":
                got: list[Any] = []
                done = threading.Event()

                def on_answer(*args: Any) -> None:
                    got.extend(args)
                    done.set()

                sio.emit(kw["event"], kw.get("data"), to=kw["sid"], callback=on_answer)
                return got if done.wait(5) else {"error": "TimeoutError"}
            elif name == "fetch":
                return sorted((info(s) for s in m.fetch_sockets(
                    kw.get("room"), skip=kw.get("skip"), timeout=kw.get("timeout"))),
                    key=lambda d: d["sid"])
            elif name == "sockets_join":
                m.sockets_join(kw["rooms"], room=kw.get("room"))
            elif name == "sockets_leave":
                m.sockets_leave(kw["rooms"], room=kw.get("room"))
            elif name == "disconnect_sockets":
                m.disconnect_sockets(room=kw.get("room"))
            elif name == "server_call":
                return sorted(m.server_call("whoami", kw["tag"], timeout=kw.get("timeout")))
            elif name == "rooms":
                return sorted(sio.rooms(kw.get("sid", sid)))
            elif name == "health":
                return dataclasses.asdict(m.health())
            return "ok"
        except Exception as exc:
            return {"error": type(exc).__name__, "message": str(exc)}

    return sio


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "async":
        import uvicorn

        sio = make_async()
        # joins the cluster at start (a plugin does this from its host's startup hook)
        app = socketio.ASGIApp(sio, on_startup=sio.startup, on_shutdown=sio.shutdown)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                    loop="asyncio", ws="websockets")
    else:
        from werkzeug.serving import make_server

        sio = make_sync()
        sio.startup()
        server = make_server("127.0.0.1", port, socketio.WSGIApp(sio), threaded=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
