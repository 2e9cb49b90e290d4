"""The test app as a WSGI module for Gunicorn (``tests.flask_plugin.wsgi_app:app``).

The session store folder comes from ``FLASK_SIO_SESSION_DIR``. The async mode is not
configured: it follows the worker (gthread: threading; gevent: the patched process).
"""

from __future__ import annotations

import os
from pathlib import Path

from sio_integrations.flask import SocketIO

from .apps import make_app, register_handlers

socketio = SocketIO()
register_handlers(socketio)
app, _ = make_app(server_session_dir=Path(os.environ["FLASK_SIO_SESSION_DIR"]),
                  socketio=socketio)


@app.route("/mode")
def mode() -> str:
    return str(socketio.get_server(app).async_mode)
