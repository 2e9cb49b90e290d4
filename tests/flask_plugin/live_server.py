"""``python -m tests.flask_plugin.live_server PORT SESSION_DIR|- [MODE]``: the test app under
``socketio.run()`` (its default server; MODE ``eventlet`` or ``gevent`` monkey-patches
first, ``debug`` runs with ``debug=True``)."""

from __future__ import annotations

import sys

if len(sys.argv) > 3 and sys.argv[3] == "eventlet":  # patch before anything else loads
    import eventlet

    eventlet.monkey_patch()
elif len(sys.argv) > 3 and sys.argv[3] == "gevent":
    from gevent import monkey

    monkey.patch_all()

import os  # noqa: E402
from pathlib import Path  # noqa: E402

from sio_integrations.flask import SocketIO  # noqa: E402

from .apps import make_app, register_handlers  # noqa: E402


def main() -> None:
    port = int(sys.argv[1])
    # "-": Flask's cookie session instead of Flask-Session's filesystem store
    session_dir = None if sys.argv[2] == "-" else Path(sys.argv[2])
    sio = SocketIO()
    register_handlers(sio)
    app, _ = make_app(server_session_dir=session_dir, socketio=sio)

    @app.route("/reloader")
    def reloader() -> str:
        # Werkzeug sets this in the child process its reloader runs
        return os.environ.get("WERKZEUG_RUN_MAIN", "none")

    debug = len(sys.argv) > 3 and sys.argv[3] == "debug"
    sio.run(app, host="127.0.0.1", port=port, debug=debug)


if __name__ == "__main__":
    main()
