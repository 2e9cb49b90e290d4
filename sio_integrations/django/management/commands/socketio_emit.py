"""``manage.py socketio_emit EVENT [DATA] [--to ROOM_OR_SID] [--namespace NS]``.

Emits through the project's server: with a channel layer (or ``MESSAGE_QUEUE``) the event
reaches the clients of every worker from this one-off process. ``DATA`` is JSON.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...emitter import emit


class Command(BaseCommand):  # type: ignore[misc]
    help = "Emit a Socket.IO event to a room, a sid or everyone (DATA is JSON)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("event")
        parser.add_argument("data", nargs="?", default=None, help="JSON (default: none)")
        parser.add_argument("--to", action="append", default=None,
                            help="a room or sid (repeat for several rooms)")
        parser.add_argument("--namespace", default="/")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(options["data"]) if options["data"] is not None else None
        except ValueError as exc:
            raise CommandError(f"DATA is not JSON: {exc}") from None
        to = options["to"]
        if to is not None and len(to) == 1:
            to = to[0]
        emit(options["event"], data, to=to, namespace=options["namespace"])
