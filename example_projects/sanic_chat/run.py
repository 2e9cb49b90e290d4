"""Run the Sanic chat: ``python run.py --host 127.0.0.1 --port 8000`` (in this folder).

Install the browser client first: ``npm install --no-package-lock`` in this folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from app import CLIENT, create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Sanic chat (sio_integrations.sanic)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if not CLIENT.exists():
        print(f"socket.io-client is missing: run `npm install --no-package-lock` in {HERE}",
              file=sys.stderr)
    app = create_app()

    @app.after_server_start
    async def announce(app: object) -> None:
        print(f"Sanic chat on http://{args.host}:{args.port}/", flush=True)

    # one process: Ctrl-C and SIGTERM stop it (Sanic's own signal handling)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False,
            motd=False)


if __name__ == "__main__":
    main()
