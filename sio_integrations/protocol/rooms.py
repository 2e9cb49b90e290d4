"""Room membership per namespace, and who receives a broadcast."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["RoomRegistry"]


class RoomRegistry:
    """Which sids are connected to each namespace and which rooms they are in.

    Every connected sid is in a room named after itself (like JS socket.io and
    python-socketio), so ``to=sid`` addresses one client. Empty rooms and namespaces are
    deleted at once, so memory follows the live membership. Every list returned is a
    snapshot: callers may mutate the registry while iterating over it.
    """

    __slots__ = ("_rooms", "_sids")

    def __init__(self) -> None:
        #: namespace -> room -> members (a dict used as an insertion-ordered set)
        self._rooms: dict[str, dict[str, dict[str, None]]] = {}
        #: namespace -> connected sid -> rooms it is in (ordered set, its own room first)
        self._sids: dict[str, dict[str, dict[str, None]]] = {}

    def connect(self, namespace: str, sid: str) -> None:
        """Record ``sid`` as connected to ``namespace`` (and in its own room)."""
        sids = self._sids.setdefault(namespace, {})
        if sid not in sids:
            sids[sid] = {}
        self.enter(namespace, sid, sid)

    def disconnect(self, namespace: str, sid: str) -> list[str]:
        """Forget ``sid`` in ``namespace``; return the rooms it left (own room included)."""
        sids = self._sids.get(namespace)
        if sids is None:
            return []
        rooms = sids.pop(sid, None)
        if rooms is None:
            return []
        if not sids:
            del self._sids[namespace]
        by_room = self._rooms.get(namespace, {})
        for room in rooms:
            members = by_room.get(room)
            if members is not None:
                members.pop(sid, None)
                if not members:
                    del by_room[room]
        if not by_room:
            self._rooms.pop(namespace, None)
        return list(rooms)

    def is_connected(self, namespace: str, sid: str) -> bool:
        """Whether ``sid`` is connected to ``namespace``."""
        sids = self._sids.get(namespace)
        return sids is not None and sid in sids

    def enter(self, namespace: str, sid: str, room: str) -> bool:
        """Put ``sid`` in ``room``. Returns False (and does nothing) when ``sid`` is not
        connected: a late ``enter_room`` must not leave a departed sid in a room forever."""
        sids = self._sids.get(namespace)
        if sids is None:
            return False
        rooms = sids.get(sid)
        if rooms is None:
            return False
        rooms[room] = None
        self._rooms.setdefault(namespace, {}).setdefault(room, {})[sid] = None
        return True

    def leave(self, namespace: str, sid: str, room: str) -> None:
        """Take ``sid`` out of ``room`` (nothing happens if it is not in it)."""
        rooms = self._sids.get(namespace, {}).get(sid)
        if rooms is None or rooms.pop(room, False) is False:
            return
        by_room = self._rooms[namespace]
        members = by_room[room]
        del members[sid]
        if not members:
            del by_room[room]
            if not by_room:
                del self._rooms[namespace]

    def close_room(self, namespace: str, room: str) -> list[str]:
        """Remove every member from ``room``; return the sids that were in it."""
        by_room = self._rooms.get(namespace)
        if by_room is None:
            return []
        members = by_room.pop(room, None)
        if members is None:
            return []
        if not by_room:
            del self._rooms[namespace]
        sids = self._sids[namespace]
        for sid in members:
            sids[sid].pop(room, None)
        return list(members)

    def rooms(self, namespace: str, sid: str) -> list[str]:
        """The rooms ``sid`` is in (its own room first); [] if it is not connected."""
        rooms = self._sids.get(namespace, {}).get(sid)
        return [] if rooms is None else list(rooms)

    def members(self, namespace: str, room: str) -> list[str]:
        """The sids in ``room``, in the order they entered it."""
        members = self._rooms.get(namespace, {}).get(room)
        return [] if members is None else list(members)

    def namespaces(self) -> list[str]:
        """Namespaces with at least one connected sid."""
        return list(self._sids)

    def recipients(
        self,
        namespace: str,
        to: str | Iterable[str] | None = None,
        skip: str | Iterable[str] | None = None,
    ) -> list[str]:
        """Who receives a broadcast: members of ``to`` (a room, several rooms, or None for
        every sid connected to ``namespace``) minus ``skip`` (a sid or several).

        Deduplicated, in a stable order (first room first, then entry order).
        """
        pool: dict[str, Any] | None
        if to is None:
            pool = self._sids.get(namespace)
            if pool is None:
                return []
        elif isinstance(to, str):
            pool = self._rooms.get(namespace, {}).get(to)
            if pool is None:
                return []
        else:
            by_room = self._rooms.get(namespace)
            if by_room is None:
                return []
            merged: dict[str, None] = {}
            for room in to:
                members = by_room.get(room)
                if members is not None:
                    merged.update(members)
            pool = merged
        if skip is None:
            return list(pool)
        if isinstance(skip, str):
            result = list(pool)
            if skip in pool:
                result.remove(skip)  # one C-level pass, cheaper than a comprehension
            return result
        skipped = skip if isinstance(skip, (set, frozenset)) else set(skip)
        return [sid for sid in pool if sid not in skipped]
