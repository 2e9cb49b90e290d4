"""Test clusters: server nodes in their own processes, and clients spread across them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio as ps  # python-socketio: a test peer

from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0,
               what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Node:
    """One server process (``tests/cluster/node_app.py``)."""

    def __init__(self, name: str, mode: str, url: str, options: dict[str, Any] | None = None,
                 folder: Path | None = None) -> None:
        self.name = name
        self.mode = mode
        self.port = free_port()
        self.folder = folder or Path(tempfile.mkdtemp(prefix="sio-node-"))
        self.log_path = self.folder / f"{name}.log"
        env = dict(os.environ, NODE_MQ=url, NODE_MQ_OPTIONS=json.dumps(options or {}),
                   NODE_NAME=name, PYTHONPATH=str(ROOT))
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.node_app", mode, str(self.port)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        wait_for_port(self.port, 30, f"node {self.name}")

    def dump_stacks(self) -> None:
        """Every thread's stack into the node's log (see node_app), shown on failure."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            print(f"--- {self.name} log ---\n{self.log()[-8000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class Peer:
    """A python-socketio client connected to one node, recording what it receives."""

    def __init__(self, node: Node, auth: Any = None, agent: str = "peer") -> None:
        self.node = node
        self.events: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.disconnected = threading.Event()
        self.client = ps.Client(reconnection=False)
        self.client.on("*", self._record)
        self.client.on("question", lambda data: f"answer to {data} from {agent}")
        self.client.on("disconnect", lambda *a: self.disconnected.set())
        transports = ["websocket"]
        self.client.connect(node.url, auth=auth, transports=transports,
                            headers={"X-Agent": agent}, wait_timeout=10)
        self.sid = self.client.get_sid()

    def _record(self, event: str, data: Any = None) -> None:
        with self.lock:
            self.events.append((event, data))

    def received(self, event: str) -> list[Any]:
        with self.lock:
            return [data for name, data in self.events if name == event]

    def op(self, name: str, **kw: Any) -> Any:
        try:
            return self.client.call("op", (name, kw), timeout=20)
        except ps.exceptions.TimeoutError:
            self.node.dump_stacks()
            raise

    def close(self) -> None:
        if self.client.connected:
            try:
                self.client.disconnect()
            except Exception:
                pass


def close_all(peers: list[Peer]) -> None:
    """Disconnect peers in parallel: python-socketio's client needs ~3 s to close a
    websocket served by Werkzeug + simple-websocket (its own server too)."""
    threads = [threading.Thread(target=peer.close, daemon=True) for peer in peers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)


class Cluster:
    """``count`` nodes on one queue, started in parallel."""

    def __init__(self, mode: str, url: str, count: int = 3,
                 options: dict[str, Any] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="sio-cluster-"))
        self.mode = mode
        self.mq_url = url
        self.nodes = [Node(f"n{i}", mode, url, options, self.folder) for i in range(count)]
        self.peers: list[Peer] = []
        try:
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.close()
            raise

    def peer(self, index: int, **kw: Any) -> Peer:
        peer = Peer(self.nodes[index], **kw)
        self.peers.append(peer)
        return peer

    def wait_meshed(self, peer: Peer) -> None:
        """Until the peer's node knows every other node (requests then wait for all)."""
        wait_until(lambda: peer.op("health")["nodes"] >= len(self.nodes) - 1, 15,
                   "nodes to see each other")

    def close(self) -> None:
        close_all(self.peers)
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
