"""A small chat server for aiohttp, written against python-socketio's public API.

Run it with ``python app.py`` and open http://127.0.0.1:8080/ (HOST and PORT
environment variables override the address).
"""
import os

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode='aiohttp')
app = web.Application()
sio.attach(app)


async def index(request):
    """Serve the client application."""
    with open('index.html') as f:
        return web.Response(text=f.read(), content_type='text/html')


@sio.event
async def connect(sid, environ, auth):
    name = (auth or {}).get('name', 'anonymous')
    await sio.save_session(sid, {'name': name})
    print('connected', sid, name, flush=True)


@sio.event
async def chat_message(sid, data):
    session = await sio.get_session(sid)
    await sio.emit('chat_message', {'from': session['name'], 'text': data['text']})
    return 'delivered'


@sio.event
async def disconnect(sid, reason):
    print('disconnected', sid, reason, flush=True)


app.router.add_get('/', index)

if __name__ == '__main__':
    web.run_app(app, host=os.environ.get('HOST', '127.0.0.1'),
                port=int(os.environ.get('PORT', '8080')))
