"""A minimal Engine.IO/Socket.IO long-polling peer over any HTTP test client.

The host test clients (sanic-testing, ``tornado.testing``) speak HTTP; this turns their
``get``/``post`` into Socket.IO steps so tests can check exact packets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: (method, url, body, headers) -> (status, body text, response headers)
Transport = Callable[[str, str, str | None, dict[str, str]], tuple[int, str, Any]]
SEPARATOR = "\x1e"


class PollingPeer:
    """One Engine.IO session over long-polling."""

    def __init__(self, request: Transport, path: str = "/socket.io/",
                 headers: dict[str, str] | None = None) -> None:
        self.request = request
        self.path = path
        self.headers = dict(headers or {})
        self.sid: str | None = None
        self.handshake: dict[str, Any] = {}
        self.inbox: list[str] = []

    def url(self) -> str:
        query = "EIO=4&transport=polling"
        if self.sid is not None:
            query += f"&sid={self.sid}"
        return f"{self.path}?{query}"

    def open(self) -> tuple[int, str, Any]:
        status, body, headers = self.request("GET", self.url(), None, self.headers)
        if status == 200:
            assert body.startswith("0"), body
            self.handshake = json.loads(body[1:])
            self.sid = self.handshake["sid"]
        return status, body, headers

    def post(self, *packets: str) -> tuple[int, str, Any]:
        return self.request("POST", self.url(), SEPARATOR.join(packets), self.headers)

    def poll(self) -> list[str]:
        status, body, _ = self.request("GET", self.url(), None, self.headers)
        assert status == 200, (status, body)
        return body.split(SEPARATOR)

    def next_message(self) -> str:
        """The next Engine.IO message packet's payload (answering pings on the way)."""
        for _ in range(20):  # bounded: each poll returns within the ping interval
            if not self.inbox:
                self.inbox.extend(self.poll())
            packet = self.inbox.pop(0)
            if packet == "2":
                self.post("3")
                continue
            if packet.startswith("4"):
                return packet[1:]
            raise AssertionError(f"unexpected Engine.IO packet {packet!r}")
        raise AssertionError("no message in 20 polls")

    def connect(self, auth: Any = None) -> Any:
        """Socket.IO CONNECT to "/": ("40", {sid}) or ("44", the error payload)."""
        self.open()
        self.post("40" + (json.dumps(auth) if auth is not None else ""))
        reply = self.next_message()  # a Socket.IO packet: CONNECT (0) or CONNECT_ERROR (4)
        assert reply[:1] in ("0", "4"), reply
        return "4" + reply[0], json.loads(reply[1:])

    def call(self, event: str, *args: Any, ack_id: int = 1) -> Any:
        """Emit with an acknowledgement; the ack's arguments."""
        self.post(f"42{ack_id}" + json.dumps([event, *args]))
        reply = self.next_message()
        prefix = f"3{ack_id}"
        assert reply.startswith(prefix), reply
        return json.loads(reply[len(prefix):])
