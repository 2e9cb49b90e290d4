"""What a host tells the core about the request that opened a connection."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs


@dataclasses.dataclass(frozen=True, kw_only=True)
class Handshake:
    """The opening request of a connection, as the host framework saw it.

    Plugins fill ``user`` and ``session`` from their host's auth and session machinery.
    """

    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    query: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)
    remote_addr: str | None = None
    secure: bool = False
    time: float = dataclasses.field(default_factory=time.time)
    user: Any = None
    session: Any = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def origin(self) -> str | None:
        """The ``Origin`` header, if the client sent one."""
        return self.headers.get("origin")

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> Handshake:
        """Build a handshake from a WSGI-style environ (what the engine keeps per session)."""
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return cls(
            headers=headers,
            query=parse_qs(str(environ.get("QUERY_STRING", ""))),
            remote_addr=environ.get("REMOTE_ADDR"),
            secure=environ.get("wsgi.url_scheme") in ("https", "wss"),
        )
