"""TLS: verification on by default, ``ssl_verify=False``, or an ``ssl.SSLContext``."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sio_integrations as socketio
from sio_integrations import exceptions

from .client_node import need
from .live import free_port, wait_until


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    import uvicorn

    openssl = shutil.which("openssl")
    need(openssl is not None, "openssl is not installed")
    assert openssl is not None
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    sio = socketio.AsyncServer(async_mode="asgi")

    @sio.event
    async def echo(sid: str, data: Any) -> Any:
        return data

    port = free_port()
    config = uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off", ssl_certfile=str(cert),
                            ssl_keyfile=str(key))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn")
    yield f"https://127.0.0.1:{port}", cert
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_async_client_tls(tls_server: tuple[str, Path], transport: str) -> None:
    url, cert = tls_server

    async def main() -> None:
        strict = socketio.AsyncClient(reconnection=False)
        with pytest.raises(exceptions.ConnectionError):
            await strict.connect(url, transports=[transport])  # self-signed: refused
        for option in (False, ssl.create_default_context(cafile=str(cert))):
            sio = socketio.AsyncClient(reconnection=False, ssl_verify=option)
            await sio.connect(url, transports=[transport])
            assert await sio.call("echo", b"\x01") == b"\x01"
            await sio.disconnect()
        assert len(asyncio.all_tasks()) == 1

    asyncio.run(main())


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_sync_client_tls(tls_server: tuple[str, Path], transport: str) -> None:
    url, cert = tls_server
    strict = socketio.Client(reconnection=False)
    with pytest.raises(exceptions.ConnectionError):
        strict.connect(url, transports=[transport])
    for option in (False, ssl.create_default_context(cafile=str(cert))):
        sio = socketio.Client(reconnection=False, ssl_verify=option)
        sio.connect(url, transports=[transport])
        assert sio.call("echo", "x") == "x"
        sio.disconnect()
