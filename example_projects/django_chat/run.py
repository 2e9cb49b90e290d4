"""Run the Django chat: ``python run.py --host 127.0.0.1 --port 8000``.

Migrates its SQLite database (in the temp folder, or ``--db``/``DJANGO_CHAT_DB``), then
serves the ASGI application (Django + Channels routing + Socket.IO) with uvicorn. Needs
``npm install --no-package-lock`` in this folder for the browser client.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", help="SQLite file (default: in the temp folder)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    try:
        import sio_integrations  # noqa: F401
    except ImportError:  # run from a checkout without installing the package
        sys.path.insert(1, str(HERE.parents[1]))
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"  # this example's, always
    if args.db:
        os.environ["DJANGO_CHAT_DB"] = args.db

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("check", fail_level="ERROR")  # SOCKETIO and the rest, validated

    import uvicorn
    from chatsite.asgi import application

    # bind first, then announce: the printed URL is connectable at once
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    print(f"Django chat on http://{args.host}:{args.port}/", flush=True)
    # Channels' ProtocolTypeRouter has no lifespan; a short grace period so that a
    # pending long-polling request does not hold a restart up
    config = uvicorn.Config(application, log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
