"""Benchmark server: one Socket.IO app on one host stack, chosen by argv.

    python bench/server.py --impl sio --module sio_integrations --stack uvicorn
    python bench/server.py --impl sio --module socketio --stack aiohttp
    python bench/server.py --impl raw --stack uvicorn
    python bench/server.py --impl sio --module sio_integrations --stack threading

``--impl sio`` serves the same application with whichever module ``--module`` names (ours is
``sio_integrations``, the reference is python-socketio's ``socketio``); ``--impl raw`` is a
baseline that speaks the same Engine.IO/Socket.IO bytes with plain string handling, so the
harness can report what fraction of the bare host stack each implementation reaches.
``--stack threading`` serves the same application with the sync ``Server(async_mode=
"threading")`` as a WSGI app on werkzeug's threaded server (python-socketio's websockets
through simple-websocket, ours through its own path, runtime/wsgi_direct.py).

The server binds 127.0.0.1 on an ephemeral port and prints ``PORT <n>`` on stdout once it
listens. It runs until SIGTERM/SIGINT. Not a test; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import socket
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Application events (shared with bench/loadgen.py):
#   echo(data) -> ack(data)
#   join(room) -> ack(True)      enters the room
#   bcast({"room": r, "k": k})   emits "tick" k times to room r, then acks k
TICK = {"n": 1, "s": "hello"}


def import_module(module_name: str) -> Any:
    if module_name != "socketio" and ROOT not in sys.path:
        sys.path.insert(0, ROOT)  # our package is not installed, it lives in the repo
    return importlib.import_module(module_name)


def build_sio(module_name: str, async_mode: str, ping_interval: float) -> Any:
    socketio = import_module(module_name)
    sio = socketio.AsyncServer(async_mode=async_mode, ping_interval=ping_interval)

    @sio.event  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: Any) -> Any:
        return data

    @sio.event  # type: ignore[untyped-decorator]
    async def join(sid: str, room: str) -> bool:
        await sio.enter_room(sid, room)
        return True

    @sio.event  # type: ignore[untyped-decorator]
    async def bcast(sid: str, data: dict[str, Any]) -> int:
        k = int(data["k"])
        for _ in range(k):
            await sio.emit("tick", TICK, room=data["room"])
        return k

    return socketio, sio


def build_sync_sio(module_name: str, ping_interval: float) -> Any:
    socketio = import_module(module_name)
    sio = socketio.Server(async_mode="threading", ping_interval=ping_interval)

    @sio.event  # type: ignore[untyped-decorator]
    def echo(sid: str, data: Any) -> Any:
        return data

    @sio.event  # type: ignore[untyped-decorator]
    def join(sid: str, room: str) -> bool:
        sio.enter_room(sid, room)
        return True

    @sio.event  # type: ignore[untyped-decorator]
    def bcast(sid: str, data: dict[str, Any]) -> int:
        k = int(data["k"])
        for _ in range(k):
            sio.emit("tick", TICK, room=data["room"])
        return k

    return socketio, sio


def serve_threading(app: Any) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    # SIGTERM keeps its default action (the process ends): shutdown() from a handler on the
    # serving thread would wait for serve_forever to return, forever
    server.serve_forever()


# ---------------------------------------------------------------------------------------------
# Raw baseline: fakes just enough Engine.IO v4 / Socket.IO v5 over a websocket, no JSON work.

OPEN = '0{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
TICK_FRAME = '42["tick",{"n":1,"s":"hello"}]'


class RawRooms:
    """Room name -> set of send callables (one per websocket)."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[int, Any]] = {}

    def join(self, room: str, key: int, send: Any) -> None:
        self.rooms.setdefault(room, {})[key] = send

    def drop(self, key: int) -> None:
        for members in self.rooms.values():
            members.pop(key, None)


def raw_reply(text: str) -> tuple[str | None, tuple[str, int] | None]:
    """Answer one client frame; returns (reply, broadcast request (room, k) or None)."""
    if text == "40":
        return '40{"sid":"raw"}', None
    if text == "3":  # pong
        return None, None
    if text.startswith("451-"):  # binary echo header; the attachment follows
        i = 4
        while text[i].isdigit():
            i += 1
        return "461-" + text[4:i] + '[{"_placeholder":true,"num":0}]', None
    if text.startswith("42"):
        i = 2
        while text[i].isdigit():
            i += 1
        ack_id = text[2:i]
        body = text[i:]
        # body is '["name",args...]'
        if body.startswith('["echo",'):
            return "43" + ack_id + "[" + body[8:], None
        if body.startswith('["join",'):
            return "43" + ack_id + "[true]", ("join:" + body[9:-2], 0)
        if body.startswith('["bcast",'):
            # '{"room":"r","k":n}' -- parsed loosely: this is a baseline, not a server
            args = body[9:-1]
            room = args.split('"room":"', 1)[1].split('"', 1)[0]
            k = int(args.split('"k":', 1)[1].rstrip("}").split(",", 1)[0])
            return (f"43{ack_id}[{k}]") if ack_id else None, (room, k)
    return None, None


def raw_asgi_app(rooms: RawRooms) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        key = id(send)

        async def send_text(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        try:
            while True:
                msg = await receive()
                kind = msg["type"]
                if kind == "websocket.connect":
                    await send({"type": "websocket.accept"})
                    await send_text(OPEN % key)
                elif kind == "websocket.receive":
                    text = msg.get("text")
                    if text is None:
                        data = msg.get("bytes")
                        if data is not None:  # an attachment: echo the same bytes
                            await send({"type": "websocket.send", "bytes": data})
                        continue
                    reply, action = raw_reply(text)
                    await _raw_action(rooms, key, send_text, action)
                    if reply is not None:
                        await send_text(reply)
                else:
                    return
        finally:
            rooms.drop(key)

    return app


async def _raw_action(rooms: RawRooms, key: int, send_text: Any, action: Any) -> None:
    if action is None:
        return
    room, k = action
    if room.startswith("join:"):
        rooms.join(room[5:], key, send_text)
        return
    members = list(rooms.rooms.get(room, {}).values())
    for _ in range(k):
        for member in members:
            try:
                await member(TICK_FRAME)
            except Exception:  # a member that went away; the baseline ignores it
                pass


def raw_aiohttp_app(rooms: RawRooms) -> Any:
    from aiohttp import WSMsgType, web

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        key = id(ws)
        send_text = ws.send_str
        try:
            await send_text(OPEN % key)
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:  # an attachment: echo the same bytes
                    await ws.send_bytes(msg.data)
                    continue
                if msg.type != WSMsgType.TEXT:
                    continue
                reply, action = raw_reply(msg.data)
                await _raw_action(rooms, key, send_text, action)
                if reply is not None:
                    await send_text(reply)
        finally:
            rooms.drop(key)
        return ws

    app = web.Application()
    app.router.add_get("/socket.io/", handler)
    return app


# ---------------------------------------------------------------------------------------------


def listen_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def announce(sock: socket.socket) -> None:
    print(f"PORT {sock.getsockname()[1]}", flush=True)


async def serve_uvicorn(app: Any, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        loop="none",  # we created the loop ourselves (same choice for every server)
        http="httptools",
        ws="websockets-sansio",  # what uvicorn's "auto" picks here; pinned so runs compare
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; a no-op handler
    # turns that into a normal return (so the profile, if any, is written)
    signal.signal(signal.SIGTERM, lambda *_: None)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
        return
    announce(sock)
    await task


async def serve_aiohttp(app: Any, sock: socket.socket) -> None:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    announce(sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def raise_nofile() -> None:
    """Thousands of connections need as many descriptors: soft limit up to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", choices=["sio", "raw"], default="sio")
    parser.add_argument("--module", default="socketio", help="sio_integrations or socketio")
    parser.add_argument("--stack", choices=["uvicorn", "aiohttp", "threading"], required=True)
    parser.add_argument("--ping-interval", type=float, default=25.0, help="seconds")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--profile", default="", help="write cProfile stats here on exit")
    args = parser.parse_args()

    raise_nofile()
    rooms = RawRooms()
    if args.stack == "threading":
        socketio, sio = build_sync_sio(args.module, args.ping_interval)
        serve_threading(socketio.WSGIApp(sio))
        return
    if args.stack == "uvicorn":
        if args.impl == "raw":
            app = raw_asgi_app(rooms)
        else:
            socketio, sio = build_sio(args.module, "asgi", args.ping_interval)
            app = socketio.ASGIApp(sio)
    else:
        if args.impl == "raw":
            app = raw_aiohttp_app(rooms)
        else:
            from aiohttp import web

            socketio, sio = build_sio(args.module, "aiohttp", args.ping_interval)
            app = web.Application()
            sio.attach(app)

    sock = listen_socket()
    if args.loop == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        if args.stack == "uvicorn":
            loop.run_until_complete(serve_uvicorn(app, sock))
        else:
            loop.run_until_complete(serve_aiohttp(app, sock))
    finally:
        loop.close()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
