"""A server for the two client examples: `uvicorn server:app --port 5000`."""
import sio_integrations as socketio

sio = socketio.AsyncServer(async_mode='asgi')
app = socketio.ASGIApp(sio)


@sio.event
async def ping_from_client(sid):
    await sio.emit('pong_from_server', to=sid)


@sio.event
async def add(sid, a, b):
    return a + b
