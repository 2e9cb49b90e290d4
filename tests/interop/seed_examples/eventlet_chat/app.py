"""A small chat server for eventlet, written against python-socketio's public API.

Run it with ``python app.py`` and open http://127.0.0.1:5000/ (HOST and PORT
environment variables override the address).
"""
import os

import eventlet
import eventlet.wsgi
import socketio

sio = socketio.Server(async_mode='eventlet')
app = socketio.WSGIApp(sio, static_files={
    '/': 'index.html',
    '/static': 'static',
})


@sio.event
def connect(sid, environ, auth):
    name = (auth or {}).get('name', 'anonymous')
    sio.save_session(sid, {'name': name})
    print('connected', sid, name, flush=True)


@sio.event
def chat_message(sid, data):
    session = sio.get_session(sid)
    sio.emit('chat_message', {'from': session['name'], 'text': data['text']})
    return 'delivered'


@sio.event
def disconnect(sid, reason):
    print('disconnected', sid, reason, flush=True)


if __name__ == '__main__':
    host = os.environ.get('HOST', '127.0.0.1')
    port = int(os.environ.get('PORT', '5000'))
    eventlet.wsgi.server(eventlet.listen((host, port)), app)
