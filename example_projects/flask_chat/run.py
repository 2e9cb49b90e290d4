"""Run the Flask chat: ``python run.py --host 127.0.0.1 --port 5000 [--debug]``.

Serves with ``socketio.run()`` (Werkzeug's threaded server, websocket included) and prints
the URL once it listens. For production see docs/flask.md (Gunicorn).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import sio_integrations  # noqa: F401
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(1, str(HERE.parents[1]))
from app import app, socketio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--debug", action="store_true", help="reloader and debugger")
    args = parser.parse_args()
    socketio.run(app, host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
