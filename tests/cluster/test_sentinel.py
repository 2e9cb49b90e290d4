"""A ``redis+sentinel://`` URL: the nodes find the master through a real Sentinel."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.services import free_port, wait_for_port

from .harness import Cluster, wait_until


def test_nodes_reach_the_master_through_sentinel(redis_server: Any) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sio-sentinel-") as folder:
        config = Path(folder) / "sentinel.conf"  # Sentinel rewrites its config: writable
        config.write_text(f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                          f"sentinel monitor mymaster 127.0.0.1 {redis_server.port} 1\n")
        sentinel = subprocess.Popen([redis_server.binary, str(config), "--sentinel"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, 10, "redis-sentinel")
            cluster = Cluster("async", f"redis+sentinel://127.0.0.1:{port}/0/mymaster", 2)
            try:
                a, b = cluster.peer(0), cluster.peer(1)
                cluster.wait_meshed(a)
                a.op("emit", event="news", data="via sentinel")
                wait_until(lambda: b.received("news") == ["via sentinel"], what="broadcast")
            finally:
                cluster.close()
        finally:
            sentinel.kill()
            sentinel.wait(10)
