"""Connect to a namespace whose connect handler fails, the way a client would, and return
what the client was told: raw Engine.IO long-polling frames, and python-socketio's client
over websocket (its ``connect_error`` handler's data)."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
import socketio as reference  # python-socketio: test-only peer

#: what a client is told when a connect handler fails unexpectedly
GENERIC = {"message": "Connection rejected by server"}


def polling_connect_error(url: str, namespace: str, *, path: str = "/socket.io/",
                          headers: dict[str, str] | None = None) -> Any:
    """The CONNECT_ERROR payload answered to a CONNECT for ``namespace`` over polling."""
    endpoint = url.rstrip("/") + path
    with requests.Session() as http:
        http.headers.update(headers or {})
        opened = http.get(endpoint, params={"EIO": "4", "transport": "polling"}, timeout=10)
        assert opened.status_code == 200 and opened.text.startswith("0{"), opened.text
        sid = json.loads(opened.text[1:])["sid"]
        query = {"EIO": "4", "transport": "polling", "sid": sid}
        posted = http.post(endpoint, params=query, data=f"40{namespace},", timeout=10)
        assert posted.status_code == 200, posted.text
        answer = http.get(endpoint, params=query, timeout=10).text
    packets = answer.split("\x1e")
    prefix = f"44{namespace},"
    errors = [p for p in packets if p.startswith(prefix)]
    assert len(errors) == 1, packets
    return json.loads(errors[0][len(prefix):])


def client_connect_error(url: str, namespace: str, *, path: str = "socket.io",
                         headers: dict[str, str] | None = None) -> Any:
    """The data python-socketio's client receives in ``connect_error`` (websocket)."""
    client = reference.Client()
    received: list[Any] = []
    done = threading.Event()

    def on_error(data: Any) -> None:
        received.append(data)
        done.set()

    client.on("connect_error", on_error, namespace=namespace)
    try:
        client.connect(url, namespaces=[namespace], transports=["websocket"],
                       socketio_path=path, headers=headers or {}, wait_timeout=10)
    except reference.exceptions.ConnectionError:
        pass  # the namespace failed to connect: expected
    finally:
        assert done.wait(10), "no connect_error"
        client.disconnect()
    return received[0]
