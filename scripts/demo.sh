#!/usr/bin/env bash
# Install and start the demo chat (example_projects/chat) on http://127.0.0.1:8000.
# HOST and PORT override the address.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
cd "$ROOT"

ensure_venv asgi
npm_install "$ROOT/example_projects/chat"

export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-8000}"
log "starting the chat demo"
exec "$VENV/bin/python" example_projects/chat/app.py
