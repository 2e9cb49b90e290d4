"""AsyncServer in Sanic mode, attached to a Sanic app (run as a subprocess by the tests)."""

from __future__ import annotations

import sys

from sanic import Sanic
from sanic.response import text

import sio_integrations as socketio

sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[])
app = Sanic("sio_sanic_test")
app.config.WEBSOCKET_MAX_SIZE = 2_000_000
sio.attach(app)


@app.get("/")
async def index(request: object) -> object:
    return text("sanic host")


@sio.event
async def connect(sid: str, environ: dict[str, object], auth: object) -> None:
    await sio.save_session(sid, {"auth": auth})


@sio.event
async def echo(sid: str, data: object) -> object:
    return data


@sio.event
async def whoami(sid: str) -> object:
    session = await sio.get_session(sid)
    return {"auth": session["auth"], "transport": sio.transport(sid)}


@sio.event
async def bcast(sid: str, data: object) -> None:
    await sio.emit("news", data)


@app.after_server_start
async def ready(app: Sanic) -> None:
    print("READY", flush=True)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False,
            motd=False)
