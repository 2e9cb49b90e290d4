"""AsyncServer in Tornado mode behind get_tornado_handler (run as a subprocess)."""

from __future__ import annotations

import asyncio
import sys

import tornado.web

import sio_integrations as socketio

sio = socketio.AsyncServer(async_mode="tornado")


class Index(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("tornado host")


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


async def main(port: int) -> None:
    app = tornado.web.Application([(r"/socket.io/", socketio.get_tornado_handler(sio)),
                                   (r"/", Index)])
    app.listen(port, address="127.0.0.1")
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
