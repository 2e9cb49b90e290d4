"""Static files served next to the Socket.IO endpoint (python-socketio's ``static_files``).

The mapping goes from a URL path to either a filename or a dict with ``filename`` and an
optional ``content_type``::

    {"/": "index.html",                               # a file
     "/static": "./public",                            # a directory (prefix match)
     "/app.js": {"filename": "dist/app.js", "content_type": "application/javascript"},
     "": "index.html"}                                 # default file of directory URLs

A URL that ends at a directory serves its ``index.html`` (or the ``""`` entry).
Paths that try to climb out of a mapped directory (``..``) are never served.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from collections.abc import Mapping
from typing import Any

_CONTENT_TYPES = {
    "css": "text/css",
    "gif": "image/gif",
    "html": "text/html",
    "jpg": "image/jpeg",
    "js": "application/javascript",
    "json": "application/json",
    "png": "image/png",
    "txt": "text/plain",
}


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class StaticFile:
    filename: str
    content_type: str


def _entry(value: Any) -> dict[str, Any]:
    return {"filename": value} if isinstance(value, str) else dict(value)


def resolve_static(path: str, static_files: Mapping[str, Any] | None) -> StaticFile | None:
    """The file to serve for ``path``, or None when no rule matches."""
    if not static_files:
        return None
    rest = ""
    entry = static_files.get(path)
    prefix = path
    while entry is None and prefix:
        prefix, _, last = prefix.rpartition("/")
        rest = "/" + last + rest
        entry = static_files.get(prefix) or static_files.get(prefix + "/")
    if entry is None:
        return None
    if any(part == ".." for part in rest.split("/")):
        return None
    found = _entry(entry)
    filename = str(found["filename"])
    if rest:
        filename = filename + rest[1:] if filename.endswith("/") else filename + rest
    content_type = found.get("content_type")
    if filename.endswith("/"):
        default = _entry(static_files.get("", "index.html"))
        filename += str(default["filename"])
        content_type = default.get("content_type", content_type)
    if not content_type:
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        content_type = _CONTENT_TYPES.get(ext) or (
            mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
    return StaticFile(filename=filename, content_type=str(content_type))
