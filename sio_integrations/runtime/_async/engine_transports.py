"""Engine.IO transports: long-polling requests and websockets (asyncio source)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import RemoteProtocolError
from ...protocol.engine import http as eio_http
from ...protocol.engine.packets import (
    CLOSE_FRAME,
    NOOP_FRAME,
    PONG_PROBE_FRAME,
    Packet,
    PacketType,
    decode_frame,
    encode_payload,
    split_payload,
)
from ...protocol.engine.requests import (
    ErrorCode,
    RequestError,
    body_too_large,
    check_content_length,
    parse_query,
)
from ...protocol.engine.session import PollMode, UpgradeState
from ..backends import TIMED_OUT
from ..drivers import AsyncWebSocket, Environ
from .engine_core import INBOX_LIMIT, AsyncEngineCore, _Client

#: environ key of a POST body the host had already received when the request arrived
#: (set by the ASGI driver, runtime/asgi.py): reading it needs no timed wait
READY_BODY = "sio_integrations.body"
_PAYLOAD_TYPE = ("Content-Type", eio_http.PAYLOAD_CONTENT_TYPE)
_POST_TYPE = ("Content-Type", eio_http.POST_CONTENT_TYPE)
#: how long a GET that finds another one waiting gives that one's client to turn out gone
_TAKE_OVER_GRACE = 0.1


class AsyncEngineTransports(AsyncEngineCore):
    """Long polling (GET/POST) and websocket (open, upgrade, read loop)."""

    # -- long polling ---------------------------------------------------------------------
    async def _poll(self, environ: Environ, client: _Client) -> Any:
        session = client.session
        with client.mutex:
            mode = session.begin_poll()
        if isinstance(mode, RequestError) and client.poll_environ is not None:
            mode = await self._take_over_poll(client, mode)
        if isinstance(mode, RequestError):
            return await self._refuse(environ, mode, client=client)
        if mode is PollMode.NOOP:
            return await self._payload(environ, [NOOP_FRAME])
        # On hosts that can tell, a GET whose client leaves ends then, not at the next
        # ping. Watching costs a few microseconds, most GETs wait for milliseconds: the
        # watch starts when the GET has waited for a heartbeat round (at most a second,
        # _beat_all) or a newer GET finds it waiting (_take_over_poll).
        watched = self._watch_disconnect is not None
        if watched:
            client.poll_environ = environ  # (marks this GET as the session's current one)
        gone = False
        try:
            if not session.outbox and not client.closed:
                if self._service is not None:
                    # the heartbeat service pings this session, which ends the wait, every
                    # ping_interval (and closes it after ping_timeout without a pong):
                    # sooner than _poll_timeout, so no timer of our own
                    await client.poll_event.wait()
                else:
                    self._watch_poll(client)  # (no heartbeat round to start it)
                    await self.backend.wait_event(client.poll_event, self._poll_timeout)
            with client.mutex:
                client.poll_event.clear()
                current = not watched or client.poll_environ is environ
                if current and client.poll_watch is not None:
                    watch, client.poll_watch = client.poll_watch, None
                    gone = watch.stop()
                if gone or not current:
                    # nobody reads this answer: the outbox waits for the client's next GET
                    frames: list[str | bytes] = [NOOP_FRAME]
                elif session.upgrade is UpgradeState.UPGRADING and not client.closed:
                    frames = [NOOP_FRAME]  # the outbox goes to the websocket
                else:
                    frames = session.take_outbox()
                    client.queued = 0
        finally:
            with client.mutex:
                if not watched or client.poll_environ is environ:  # (no newer GET took over)
                    client.poll_environ = None
                    watch, client.poll_watch = client.poll_watch, None
                    if watch is not None:
                        watch.stop()  # (cancelled while waiting)
                    session.end_poll()
                rival = client.poll_rival
            if rival is not None:  # a newer GET waits to see how this one ended
                rival.set()
        if client.closed and not gone:
            if session.close_reason == "client disconnect":
                frames = frames or [NOOP_FRAME]
            else:
                frames.append(CLOSE_FRAME)
        return await self._payload(environ, frames or [NOOP_FRAME])

    async def _take_over_poll(self, client: _Client, refusal: RequestError
                              ) -> PollMode | RequestError:
        """``begin_poll`` for a GET that found another one waiting. That one no longer
        counts if its client has left (then this is no overlap), but the disconnect may
        have arrived and not been handled yet (a client that drops a poll and polls again
        at once): it gets a moment (:data:`_TAKE_OVER_GRACE`) to turn out gone. If it is
        still there, or ends otherwise, this GET overlaps it: refused."""
        session = client.session
        with client.mutex:
            if client.poll_rival is not None:  # a third GET: an overlap in any case
                return refusal
            self._watch_poll(client)
            watch = client.poll_watch
            if watch is None:
                return refusal
            rival = client.poll_rival = self.backend.event()
        try:
            if not watch.check():
                # set when the waiting GET's client leaves or when that GET ends
                await self.backend.wait_event(rival, _TAKE_OVER_GRACE)
            with client.mutex:
                if not watch.check():
                    return refusal
                if client.poll_watch is watch:  # (its GET has not run its clean-up yet)
                    client.poll_watch = None
                    client.poll_environ = None
                    session.end_poll()
                client.poll_event.clear()  # (set to end that GET, which it did)
                return session.begin_poll()
        finally:
            client.poll_rival = None

    async def _payload(self, environ: Environ, frames: list[str | bytes]) -> Any:
        if len(frames) == 1 and frames[0].__class__ is str:
            body = frames[0].encode()
        else:
            body = encode_payload(frames).encode()
        headers = [_PAYLOAD_TYPE]
        if self.options.http_compression and len(body) >= self.options.compression_threshold:
            body, encoding = eio_http.compress(
                body, environ.get("HTTP_ACCEPT_ENCODING"), self.options.compression_threshold
            )
            if encoding is not None:
                headers.append(("Content-Encoding", encoding))
        return await self._respond(environ, 200, headers, body)

    async def _post(self, environ: Environ, client: _Client) -> Any:
        session = client.session
        limit = self.options.max_http_buffer_size
        body: bytes | None = None
        error = check_content_length(environ.get("CONTENT_LENGTH"), limit)
        if error is None:
            with client.mutex:
                error = session.begin_post()
            if error is None:
                try:
                    body = environ.pop(READY_BODY, None)
                    if body is not None:  # the host had it all: nothing to wait for
                        if len(body) > limit:
                            body = None
                    else:
                        # a sender that stalls mid-body is cut off (asyncio hosts; a WSGI
                        # server's socket timeout does it for threads)
                        body = await self.backend.within(
                            self.driver.read_body(environ, limit), self._poll_timeout)
                finally:
                    session.end_post()
                if body is TIMED_OUT:
                    body, error = None, RequestError(
                        code=ErrorCode.BAD_REQUEST, reason="request body not received in time",
                        close_session=True)
                elif body is None:
                    error = body_too_large(limit)
        if error is not None or body is None:
            return await self._refuse(environ, error or body_too_large(limit), client=client)
        try:
            records = split_payload(
                body.decode("utf-8"), max_packets=self.options.max_payload_packets
            )
            packets: list[Packet] | None = None
            for record in records:
                if record[:1] != "4":  # not only text messages: decode (and check) them all
                    packets = [decode_frame(record) for record in records]
                    break
        except (UnicodeDecodeError, RemoteProtocolError) as exc:
            error = RequestError(
                code=ErrorCode.BAD_REQUEST, reason=f"bad payload: {exc}", close_session=True
            )
            return await self._refuse(environ, error, client=client, close_reason="parse error")
        reason = None
        if packets is None:  # the usual payload: text messages only, no Packet objects
            messages: list[str | bytes] = [record[1:] for record in records]
        else:
            messages = []
            for packet in packets:
                kind = packet.type
                if kind is PacketType.MESSAGE:
                    messages.append(packet.data)
                elif kind is PacketType.PONG:
                    session.on_pong(self.backend.monotonic())
                elif kind is PacketType.CLOSE:
                    reason = "client disconnect"
                    break
                elif kind is PacketType.PING:
                    await self._deliver(client, ["3" + str(packet.data)])
                elif kind is PacketType.OPEN:
                    reason = "parse error"
                    break
        if messages:
            await self._receive(client, messages)
        if reason is not None:
            await self._close_client(client, reason)
            if reason == "parse error":
                error = RequestError(code=ErrorCode.BAD_REQUEST, reason="OPEN packet from client")
                return await self._refuse(environ, error)
        return await self._respond(environ, 200, [_POST_TYPE], b"ok")

    # -- websocket ------------------------------------------------------------------------
    async def _websocket_session(self, client: _Client, ws: AsyncWebSocket, frame: str) -> None:
        """A session opened directly on a websocket."""
        client.ws = ws
        self._clients[client.sid] = client
        try:
            await ws.send(frame)
        except Exception:
            self._clients.pop(client.sid, None)
            return
        refusal = await self._connect(client)
        if refusal is None:
            await self._read_websocket(client, ws)
        elif refusal.startswith("connection refused:"):  # a policy refusal: say so once
            self.logger.warning("Engine.IO websocket %s closed, %s (from %s)", client.sid,
                                refusal, client.environ.get("REMOTE_ADDR", "?"))

    async def _upgrade(self, environ: Environ, client: _Client) -> Any:
        if not self.options.allow_upgrades or not self.driver.supports_websocket:
            error = RequestError(code=ErrorCode.BAD_REQUEST, reason="upgrades are disabled")
            return await self._refuse(environ, error)
        if "b64" in parse_query(environ.get("QUERY_STRING", "")):
            client.b64 = True
        with client.mutex:
            refused = client.session.start_upgrade(self.backend.monotonic())
        if refused is not None:
            return await self._refuse(environ, refused)
        try:
            return await self.driver.websocket(environ, lambda ws: self._probe(client, ws))
        finally:
            with client.mutex:
                if client.session.upgrade is not UpgradeState.UPGRADED:
                    client.session.abort_upgrade()

    async def _probe(self, client: _Client, ws: AsyncWebSocket) -> None:
        """Run the upgrade handshake (2probe / 3probe / 5), then read the websocket."""
        session = client.session
        client.probe = ws
        upgraded = False
        try:
            if await ws.receive() != "2probe" or client.closed:
                return
            with client.mutex:
                session.on_probe()
            await ws.send(PONG_PROBE_FRAME)
            client.poll_event.set()  # a waiting GET answers noop, the client sends "5"
            if await ws.receive() != "5" or client.closed:
                return
            with client.mutex:
                session.on_upgrade()
                frames = session.take_outbox()
                client.queued = 0
                client.ws = ws
                client.writing = True  # claim the writer so nothing overtakes the outbox
                upgraded = True
        except RemoteProtocolError:
            return
        finally:
            client.probe = None
            if not upgraded:
                with client.mutex:
                    session.abort_upgrade()
                self.logger.warning("Engine.IO websocket upgrade failed for %s", client.sid)
                await ws.close()
        await self._write_claimed(client, frames)
        await self._read_websocket(client, ws)

    async def _read_websocket(self, client: _Client, ws: AsyncWebSocket) -> None:
        writer = getattr(ws, "direct_writer", None)
        if writer is not None:
            # a socket we own (runtime/asgi_direct.py): it hands each message over from
            # the transport callback and takes sends synchronously
            client.direct = writer(
                self._send_limit, lambda: self.backend.run_soon(self._overflow, client),
                client.sid)
            try:
                reason: str | None = await ws.run_reader(  # type: ignore[attr-defined]
                    self._frame_handler(client))
            except BaseException:  # the host cancelled the request: still end the session
                await self._close_client(client, "transport close")
                raise
            await self._close_client(client, reason or "transport close")
            return
        reason = None
        try:
            while reason is None and not client.closed:
                frame = await ws.receive()
                if frame is None:
                    reason = "transport close"
                else:
                    reason = await self._ws_frame(client, frame)
        except Exception as exc:  # one line, no traceback: it is the peer's doing
            self.logger.warning("Engine.IO websocket error for %s: %s: %s", client.sid,
                                type(exc).__name__, exc)
            reason = "transport error"
        except BaseException:  # the host cancelled the request: still end the session
            await self._close_client(client, "transport close")
            raise
        await self._close_client(client, reason or "transport close")

    def _frame_handler(self, client: _Client) -> Callable[[str | bytes], Any]:
        """``_ws_frame`` for one client, going straight to the handler for a plain message
        when the handler takes messages inline (one coroutine less per message; none when
        its ``engine_message_now`` takes it). Returns None or what ``_ws_frame`` returns."""
        ws_frame, limit = self._ws_frame, self.options.max_http_buffer_size
        if not self._inline:
            return lambda frame: ws_frame(client, frame)
        message, sid, now = self.handler.engine_message, client.sid, self._message_now

        def on_frame(frame: str | bytes) -> Any:
            if frame.__class__ is str:
                if frame[:1] == "4" and len(frame) <= limit:
                    data = frame[1:]
                    if now is not None and now(sid, data):
                        return None  # handled without a coroutine
                    return message(sid, data)
            elif (frame.__class__ is bytes and now is not None and len(frame) <= limit
                  and now(sid, frame)):
                return None  # a binary attachment the handler was waiting for
            return ws_frame(client, frame)

        return on_frame

    async def _ws_frame(self, client: _Client, frame: str | bytes) -> str | None:
        """Handle one websocket message; a returned reason ends the session."""
        if len(frame) > self.options.max_http_buffer_size:
            self.logger.warning("Engine.IO message over max_http_buffer_size from %s",
                                client.sid)
            return "transport error"
        if frame.__class__ is str:
            if frame[:1] == "4":
                frame = frame[1:]
            else:
                control = await self._control(client, frame)
                if control is None:
                    return None
                if control.__class__ is str:
                    return str(control)
                frame = control  # a binary message sent as base64 text
        if self._inline:
            client.busy = True
            now = self._message_now  # as in _receive: the coroutine-free path first
            try:
                if now is None or not now(client.sid, frame):
                    await self.handler.engine_message(client.sid, frame)
            except Exception:
                self.logger.exception("engine_message failed for %s", client.sid)
            client.busy = False
            return None
        with client.mutex:
            client.inbox.append(frame)
            if client.draining:
                if len(client.inbox) < INBOX_LIMIT:
                    return None
                full = True
            else:
                client.draining = True
                full = False
        if full:
            await self._wait_for_room(client)
        else:
            client.drain_task = self.backend.start(self._drain, client)
        return None

    async def _control(self, client: _Client, frame: str | bytes) -> str | bytes | None:
        """Handle a frame other than a text message: a close reason (str) ends the
        session, bytes are a binary message sent as base64 text, None means handled."""
        try:
            packet = decode_frame(frame)
        except RemoteProtocolError as exc:
            self.logger.warning("Engine.IO bad packet from %s: %s", client.sid, exc.reason)
            return "parse error"
        kind = packet.type
        if kind is PacketType.MESSAGE:
            return bytes(packet.data) if isinstance(packet.data, bytes) else None
        if kind is PacketType.PONG:
            client.session.on_pong(self.backend.monotonic())
        elif kind is PacketType.CLOSE:
            return "client disconnect"
        elif kind is PacketType.PING:
            await self._deliver(client, ["3" + str(packet.data)])
        elif kind is PacketType.OPEN:
            self.logger.warning("Engine.IO bad packet from %s: OPEN from client", client.sid)
            return "parse error"
        return None
