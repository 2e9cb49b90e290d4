"""``rediss://``: the nodes and an emitter reach a TLS-only redis-server."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import sio_integrations as socketio
from tests.services import free_port, require_binary, wait_for_port

from .harness import Cluster, wait_until


def test_cluster_over_tls(redis_server: Any) -> None:
    openssl = require_binary("openssl")
    with tempfile.TemporaryDirectory(prefix="sio-tls-") as folder:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        port = free_port()
        server = subprocess.Popen(
            [redis_server.binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(cert), "--tls-key-file", str(key),
             "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, 10, "redis-server (TLS)")
            url = f"rediss://127.0.0.1:{port}/0"
            tls = {"ssl_ca_certs": str(cert)}
            cluster = Cluster("async", url, 2, {"message_queue_options": tls})
            try:
                a, b = cluster.peer(0), cluster.peer(1)
                cluster.wait_meshed(a)
                a.op("emit", event="news", data="over tls")
                wait_until(lambda: b.received("news") == ["over tls"], what="TLS broadcast")
                with socketio.Emitter(url, options=tls) as emitter:
                    emitter.emit("news", "from an emitter", to=a.sid)
                wait_until(lambda: a.received("news") == ["over tls", "from an emitter"],
                           what="TLS emitter")
            finally:
                cluster.close()
        finally:
            server.kill()
            server.wait(10)
