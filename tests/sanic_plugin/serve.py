"""``chatapp`` as a real Sanic server: ``python tests/sanic_plugin/serve.py PORT [WORKERS]``.

Settings come from ``SANIC_SOCKETIO_*`` environment variables (Sanic loads them into
``app.config``). The app is built at module level because every worker process imports
this script again. Prints ``READY <pid>`` once per worker.
"""

from __future__ import annotations

import os
import sys

from sanic import Sanic

from tests.sanic_plugin.chatapp import make_app

app, socketio = make_app("sio_sanic_chat_server")


@app.after_server_start
async def ready(app: Sanic) -> None:
    print(f"READY {os.getpid()}", flush=True)


if __name__ == "__main__":
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=workers,
            single_process=workers == 1, access_log=False, motd=False)
