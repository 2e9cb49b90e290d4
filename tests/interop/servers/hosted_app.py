"""The scenario app as a module for process-managing hosts (Gunicorn, Hypercorn).

``SIO_IMPL`` picks the implementation and ``SIO_MODE`` the async mode; the
module exposes ``app`` (WSGI for threading/gevent/eventlet, ASGI for asgi).
"""

from __future__ import annotations

import os
import sys

from scenario_app import build

_mode = os.environ.get("SIO_MODE", "asgi")
_sio, _socketio = build(os.environ.get("SIO_IMPL", "ours"), _mode)
app = _socketio.ASGIApp(_sio) if _mode == "asgi" else _socketio.WSGIApp(_sio)
print("APP LOADED", flush=True)
sys.stdout.flush()
