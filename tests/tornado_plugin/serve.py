"""``chatapp`` as a real Tornado server: ``python tests/tornado_plugin/serve.py PORT``.

``SIO_TEST_SETTINGS`` (JSON) adds Application settings (``socketio_*`` ...). Prints
``READY <pid>`` once listening; SIGTERM stops it after ``socketio.shutdown()``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from tests.tornado_plugin.chatapp import make_app


async def main(port: int) -> None:
    settings = json.loads(os.environ.get("SIO_TEST_SETTINGS", "{}"))
    app, socketio = make_app(**settings)
    socketio.init_app(app)  # validates the socketio_* settings before listening
    server = app.listen(port, address="127.0.0.1")
    await socketio.startup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"READY {os.getpid()}", flush=True)
    await stop.wait()
    server.stop()
    await socketio.shutdown()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
