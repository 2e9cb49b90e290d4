"""Round-trip timer, written for python-socketio's standard client.

Run a server with `ping_from_client` and `add` events (see README.md), then:

    python sync_client.py http://localhost:5000 5
"""
import sys
import time

import socketio

sio = socketio.Client()
rounds_left = int(sys.argv[2]) if len(sys.argv) > 2 else 5
sent_at = 0.0


def ping():
    global sent_at
    sent_at = time.time()
    sio.emit('ping_from_client')


@sio.event
def connect():
    print('connected, sid', sio.get_sid())
    print('the server says 2 + 3 =', sio.call('add', (2, 3)))
    ping()


@sio.event
def pong_from_server():
    global rounds_left
    print(f'round trip: {(time.time() - sent_at) * 1000:.1f} ms')
    rounds_left -= 1
    if rounds_left > 0:
        sio.sleep(0.05)
        ping()
    else:
        sio.disconnect()


@sio.event
def disconnect(reason):
    print('disconnected:', reason)


if __name__ == '__main__':
    sio.connect(sys.argv[1] if len(sys.argv) > 1 else 'http://localhost:5000')
    sio.wait()
