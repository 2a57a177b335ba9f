"""Room membership of one namespace on this replica: room name -> sockets, socket -> room names."""

from collections import defaultdict


class Rooms:
    def __init__(self) -> None:
        self._members: defaultdict[str, set[str]] = defaultdict(set)
        self._joined: defaultdict[str, set[str]] = defaultdict(set)

    def enter(self, sid: str, room: str) -> None:
        self._members[room].add(sid)
        self._joined[sid].add(room)

    def leave(self, sid: str, room: str) -> None:
        members = self._members.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self._members[room]
        self._joined.get(sid, set()).discard(room)

    def leave_all(self, sid: str) -> None:
        for room in list(self._joined.pop(sid, ())):
            self.leave(sid, room)

    def of(self, sid: str) -> set[str]:
        return self._joined.get(sid, set())

    def members(self, rooms: list[str]) -> set[str]:
        """Everyone in any of `rooms`, each once."""
        if len(rooms) == 1:
            return self._members.get(rooms[0], set())
        found: set[str] = set()
        for room in rooms:
            found |= self._members.get(room, set())
        return found
