"""In-process client manager: who is connected, in which rooms, and delivering emits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ...protocol.rooms import RoomRegistry
from ..sockets import AckWaiter, Client, Socket, as_args, new_sid

if TYPE_CHECKING:
    from .server import AsyncServer


class AsyncManager:
    """Keeps the sockets and rooms of one server process and delivers emits to them.

    Subclasses that connect several processes (message-queue managers) override
    :meth:`emit`, :meth:`disconnect`, :meth:`enter_room`, :meth:`leave_room` and
    :meth:`close_room` and call these local versions for the sockets they own.
    """

    def __init__(self) -> None:
        self.server: AsyncServer | None = None
        self.rooms = RoomRegistry()
        self.sockets: dict[str, Socket] = {}

    def set_server(self, server: AsyncServer) -> None:
        self.server = server

    async def initialize(self) -> None:
        """Called once, before the server handles its first connection."""

    async def shutdown(self) -> None:
        """Called by the server's ``shutdown()`` (message-queue managers disconnect)."""

    async def remote_call(self, event: str, data: Any, sid: str, namespace: str,
                          timeout: float) -> Any:
        """``call()`` of a sid this process does not have (message-queue managers ask
        the other nodes); in-process, the sid is simply not connected."""
        from ...errors import DisconnectedError

        raise DisconnectedError(f"{sid} is not connected to {namespace}")

    def _server(self) -> AsyncServer:
        if self.server is None:
            raise RuntimeError("manager is not attached to a server")
        return self.server

    # -- sockets --------------------------------------------------------------------------

    def register(self, client: Client, namespace: str) -> Socket:
        """Create the socket of ``client`` in ``namespace`` (not yet connected)."""
        socket = Socket(new_sid(), namespace, client)
        self.sockets[socket.sid] = socket
        client.sockets[namespace] = socket
        # joined before the connect handler runs, so that it can enter rooms and emit to
        # the sid (the client buffers events that arrive before its CONNECT is answered)
        self.rooms.connect(namespace, socket.sid)
        return socket

    def connect(self, socket: Socket) -> None:
        """Mark ``socket`` connected (its CONNECT was answered)."""
        socket.connected = True

    def forget(self, socket: Socket) -> None:
        """Remove every trace of ``socket`` (rooms, ids, pending acks)."""
        if self.sockets.pop(socket.sid, None) is not None:
            self.rooms.disconnect(socket.namespace, socket.sid)
        socket.connected = False
        if socket.client.sockets.get(socket.namespace) is socket:
            del socket.client.sockets[socket.namespace]
        for callback in socket.acks.clear():
            if type(callback) is AckWaiter:  # a call() waiting for this client: wake it
                callback.cancel()

    def get_socket(self, sid: str, namespace: str | None = None) -> Socket | None:
        socket = self.sockets.get(sid)
        if socket is None or (namespace is not None and socket.namespace != namespace):
            return None
        return socket

    def is_connected(self, sid: str, namespace: str) -> bool:
        socket = self.get_socket(sid, namespace)
        return socket is not None and socket.connected

    def sid_from_eio_sid(self, eio_sid: str, namespace: str) -> str | None:
        client = self._server()._clients.get(eio_sid)
        socket = client.sockets.get(namespace) if client else None
        return socket.sid if socket else None

    def eio_sid_from_sid(self, sid: str, namespace: str) -> str | None:
        socket = self.get_socket(sid, namespace)
        return socket.eio_sid if socket else None

    def get_namespaces(self) -> list[str]:
        return self.rooms.namespaces()

    def get_participants(self, namespace: str, room: str | None) -> Iterator[tuple[str, str]]:
        """Yield ``(sid, eio_sid)`` of the sockets in ``room`` (everyone when None)."""
        for sid in self.rooms.recipients(namespace, room, None):
            socket = self.sockets.get(sid)
            if socket is not None:
                yield sid, socket.eio_sid

    # -- rooms ----------------------------------------------------------------------------

    async def enter_room(self, sid: str, namespace: str, room: str) -> None:
        if self.get_socket(sid, namespace) is not None:
            self.rooms.enter(namespace, sid, room)

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        self.rooms.leave(namespace, sid, room)

    async def close_room(self, room: str, namespace: str) -> None:
        self.rooms.close_room(namespace, room)

    def get_rooms(self, sid: str, namespace: str) -> list[str]:
        return self.rooms.rooms(namespace, sid)

    # -- delivery -------------------------------------------------------------------------

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Callable[..., Any] | None = None,
                   **kwargs: Any) -> None:
        """Deliver an event to the connected sockets selected by ``room``/``skip_sid``."""
        await self.emit_local(event, as_args(data), namespace, room, skip_sid, callback)

    async def emit_local(self, event: str, args: list[Any], namespace: str, room: Any,
                         skip_sid: Any, callback: Callable[..., Any] | None) -> int:
        """Deliver to this process's sockets; returns the number of recipients."""
        server = self._server()
        serializer = server.serializer
        recipients = self.rooms.recipients(namespace, room, skip_sid)
        if callback is None:
            # one encoding, shared by every recipient
            frames = serializer.encode_event(namespace, event, args)
            sockets = self.sockets
            frame = frames[0]
            if len(frames) == 1 and isinstance(frame, str):
                # written at once where the engine can (a websocket we own), else awaited
                eio_sids = [socket.client.eio_sid for socket in map(sockets.get, recipients)
                            if socket is not None]
                for eio_sid in server.eio.send_now_each(eio_sids, frame):
                    await server.eio.send(eio_sid, frame)
                return len(recipients)
            for sid in recipients:
                socket = sockets.get(sid)
                if socket is not None:
                    await server._send_frames(socket.client.eio_sid, frames)
            return len(recipients)
        for sid in recipients:
            socket = self.sockets.get(sid)
            if socket is None:
                continue
            ack_id = socket.acks.register(callback)
            await server._send_frames(
                socket.client.eio_sid,
                serializer.encode_event(namespace, event, args, ack_id))
        return len(recipients)

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """Disconnect a socket of this process (server side)."""
        await self._server()._disconnect_socket(sid, namespace)

    async def trigger_callback(self, socket: Socket, ack_id: int, args: list[Any]) -> None:
        callback = socket.acks.pop(ack_id)
        if callback is None:
            server = self._server()
            server.logger.warning("unknown ack id %s from %s, ignored", ack_id, socket.sid)
            return
        result = callback(*args)
        if hasattr(result, "__await__"):
            await result
