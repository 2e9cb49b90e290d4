"""Run the Tornado chat: ``python run.py --host 127.0.0.1 --port 8000`` (in this folder).

Install the browser client first: ``npm install --no-package-lock`` in this folder.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from app import CLIENT_DIR, create_app  # noqa: E402


async def serve(host: str, port: int) -> None:
    app, socketio = create_app()
    server = app.listen(port, address=host)
    await socketio.startup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"Tornado chat on http://{host}:{port}/", flush=True)
    await stop.wait()
    server.stop()
    await socketio.shutdown()  # every client is told the server is going away


def main() -> None:
    parser = argparse.ArgumentParser(description="Tornado chat (sio_integrations.tornado)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if not (CLIENT_DIR / "socket.io.min.js").exists():
        print(f"socket.io-client is missing: run `npm install --no-package-lock` in {HERE}",
              file=sys.stderr)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
