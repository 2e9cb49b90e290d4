"""Round-trip timer, written for python-socketio's asyncio client.

Run a server with `ping_from_client` and `add` events (see README.md), then:

    python async_client.py http://localhost:5000 5
"""
import asyncio
import sys
import time

import socketio

sio = socketio.AsyncClient()
rounds_left = int(sys.argv[2]) if len(sys.argv) > 2 else 5
sent_at = 0.0


async def ping():
    global sent_at
    sent_at = time.time()
    await sio.emit('ping_from_client')


@sio.event
async def connect():
    print('connected, sid', sio.get_sid())
    print('the server says 2 + 3 =', await sio.call('add', (2, 3)))
    await ping()


@sio.event
async def pong_from_server():
    global rounds_left
    print(f'round trip: {(time.time() - sent_at) * 1000:.1f} ms')
    rounds_left -= 1
    if rounds_left > 0:
        await sio.sleep(0.05)
        await ping()
    else:
        await sio.disconnect()


@sio.event
async def disconnect(reason):
    print('disconnected:', reason)


async def main():
    await sio.connect(sys.argv[1] if len(sys.argv) > 1 else 'http://localhost:5000')
    await sio.wait()


if __name__ == '__main__':
    asyncio.run(main())
