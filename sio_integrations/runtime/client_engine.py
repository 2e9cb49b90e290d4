"""The one seam between our clients and python-engineio's Engine.IO clients.

We use ``engineio.AsyncClient`` / ``engineio.Client`` for the transports (long-polling,
websocket, polling-then-upgrade) and change two things:

* Messages are delivered **inline, in arrival order**. engineio starts a task (a thread in
  the sync client) per message, so the frames of a binary packet could reach our decoder
  out of order. Our client only decodes in the reader and queues the result for its own
  handler worker, so the reader is never blocked by application code.
* The time of the server's last packet is kept (``last_seen``) for our heartbeat
  watchdog: engineio notices a silent server only when a read times out, which on
  long-polling takes ``max(pingInterval, pingTimeout) + 5`` seconds.
* TLS: ``ssl_verify`` may also be an ``ssl.SSLContext``; it is handed to aiohttp
  (connector and websocket) or to requests (a transport adapter) and websocket-client
  (``sslopt``), the places engineio already lets us configure.

Interrupt handling is ours (see the client), so engineio's SIGINT handler is never installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import Any

import engineio

__all__ = ["AsyncEngineIOClient", "EngineIOClient", "engine_kwargs"]


class AsyncEngineIOClient(engineio.AsyncClient):  # type: ignore[misc]
    """engineio's asyncio client, calling our handlers inline and in order."""

    #: when the server last sent anything (pings included): our heartbeat watchdog
    last_seen = 0.0

    async def _receive_packet(self, pkt: Any) -> None:
        self.last_seen = time.monotonic()
        await super()._receive_packet(pkt)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["run_async"] = False
        return await super()._trigger_event(event, *args, **kwargs)

    async def close_http(self) -> None:
        """Close the HTTP session engineio created (it leaves it open when connecting fails)."""
        http: Any = self.http  # type: ignore[has-type]
        if http is not None and not self.external_http and not http.closed:
            await http.close()
        self.http = None if not self.external_http else http

    async def disconnect(self, abort: bool = False, reason: str | None = None) -> None:
        state: str = self.state  # type: ignore[has-type]
        if abort or state != "connected" or self.current_transport != "polling":
            await super().disconnect(abort=abort, reason=reason)
            return
        # Long-polling: python-engineio's server answers the pending GET only at its next
        # ping (up to 25 s), and engineio's disconnect() waits for it. Flush CLOSE with the
        # writer, give the reader a moment to see the server's answer, then cancel it
        # (the JS client aborts its pending request the same way).
        reader, writer = self.read_loop_task, self.write_loop_task
        await self._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
        await self.queue.put(None)
        self.state = "disconnecting"
        await self._trigger_event("disconnect", reason or self.reason.CLIENT_DISCONNECT)
        if writer is not None:
            await asyncio.wait({writer}, timeout=self.request_timeout)
        if reader is not None:
            await asyncio.wait({reader}, timeout=0.5)
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        self.state = "disconnected"
        with contextlib.suppress(ValueError):
            engineio.base_client.connected_clients.remove(self)
        await self._reset()


class EngineIOClient(engineio.Client):  # type: ignore[misc]
    """engineio's synchronous client, calling our handlers inline and in order."""

    #: when the server last sent anything (pings included): our heartbeat watchdog
    last_seen = 0.0

    def _receive_packet(self, pkt: Any) -> None:
        self.last_seen = time.monotonic()
        super()._receive_packet(pkt)

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)

    def close_http(self) -> None:
        """Close the HTTP session engineio created (it leaves it open when connecting fails)."""
        http: Any = self.http  # type: ignore[has-type]
        if http is not None and not self.external_http:
            http.close()
            self.http = None

    def disconnect(self, abort: bool = False, reason: str | None = None) -> None:
        # engineio's write loop stops as soon as the state leaves "connected", so a CLOSE
        # queued behind packets still being written is dropped and the server only notices
        # at its next ping (the reader's long-poll then blocks disconnect() for up to 25 s).
        # Let the writer drain first (bounded).
        if not abort and self.state == "connected":
            deadline = time.monotonic() + self.request_timeout
            while self.queue.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.002)
        super().disconnect(abort=abort, reason=reason)


def engine_kwargs(options: Any, *, asyncio_based: bool) -> dict[str, Any]:
    """engineio client constructor arguments for our ``ClientOptions``."""
    from .logs import make_logger

    extra = dict(options.websocket_extra_options or {})
    logger = options.engineio_logger
    if logger is False:  # engineio warns about normal closes: only errors by default
        logger = logging.getLogger("sio_integrations.engineio.client")
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
    kwargs: dict[str, Any] = {
        "logger": make_logger("sio_integrations.engineio.client", logger),
        # engineio would install it process-wide; only our serializer needs it
        "json": None,
        "request_timeout": options.request_timeout,
        "http_session": options.http_session,
        "ssl_verify": True,
        "handle_sigint": False,
        "websocket_extra_options": extra,
        "timestamp_requests": options.timestamp_requests,
    }
    verify = options.ssl_verify
    if isinstance(verify, ssl.SSLContext):
        if asyncio_based:
            extra.setdefault("ssl", verify)
            if options.http_session is None:
                kwargs["http_session"] = _aiohttp_factory(verify)
        else:
            sslopt = extra.setdefault("sslopt", {})
            sslopt.setdefault("context", verify)
            if options.http_session is None:
                kwargs["http_session"] = _requests_session(verify)
    else:
        kwargs["ssl_verify"] = bool(verify)
        if not verify and not asyncio_based and options.http_session is None:
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's
            # verify=False (engineio's way), so pin an unverified context instead
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            kwargs["http_session"] = _requests_session(unverified)
    return kwargs


def _aiohttp_factory(context: ssl.SSLContext) -> Any:
    def factory() -> Any:  # called by engineio inside the running loop
        import aiohttp

        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

    return factory


def _requests_session(context: ssl.SSLContext) -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    class _ContextAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> Any:  # requests < 2.32
            kwargs["ssl_context"] = context
            return super().init_poolmanager(*args, **kwargs)

        # requests >= 2.32 picks the pool's SSL settings per request here
        def build_connection_pool_key_attributes(self, *args: Any, **kwargs: Any) -> Any:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(
                *args, **kwargs)
            for name in ("ca_certs", "ca_cert_dir"):
                pool_kwargs.pop(name, None)
            # urllib3 applies cert_reqs to the context: keep the context's own choice
            pool_kwargs["cert_reqs"] = (
                "CERT_NONE" if context.verify_mode == ssl.CERT_NONE else "CERT_REQUIRED")
            pool_kwargs["ssl_context"] = context
            return host_params, pool_kwargs

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            # requests would load its CA bundle (or REQUESTS_CA_BUNDLE) into our context
            super().cert_verify(conn, url, False, cert)
            if context.verify_mode != ssl.CERT_NONE:
                conn.cert_reqs = "CERT_REQUIRED"

    def factory() -> Any:
        # a factory, not a session: engineio then drops it with each connection, so its
        # pooled keep-alive sockets do not outlive the client
        session = requests.Session()
        session.mount("https://", _ContextAdapter())
        return session

    return factory
