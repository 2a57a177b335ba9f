"""What the REST routers and socket handlers call to reach connected clients on every replica.

Every broadcast is one `emit` to a room: AsyncRedisManager publishes it once to Redis, and each
replica encodes the packet once for all of its local sockets in that room (DESIGN §4 performance).
"""

from typing import Any

import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relay.metrics import record_message_sent
from relay.realtime.notifier import Notifier
from relay.realtime.presence import PresenceTracker
from relay.realtime.presence_announcer import PresenceAnnouncer
from relay.realtime.rooms import RoomSync, channel_room


class Hub:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        rooms: RoomSync,
        presence: PresenceTracker,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.sio, self.rooms, self.presence = sio, rooms, presence
        self.notifier = Notifier(sessions, self._emit, presence.online)
        self.announcer = PresenceAnnouncer(sessions, presence, self._emit)

    async def _emit(self, event: str, data: dict[str, Any] | tuple[Any, ...], room: str | list[str]) -> None:
        # When Redis is down, AsyncRedisManager logs and drops the cross-replica copy (local sockets
        # still get it). The message is committed, so clients catch up with ?after=N (DESIGN §4).
        await self.sio.emit(event, data, room=room)

    async def message_created(self, message: dict[str, Any], *, lost_attachments: list[str] = ()) -> None:
        record_message_sent()
        await self.message_event("message:new", message)
        self.notifier.message_created(message)  # wakes the outbox drain, off the ack path
        if lost_attachments:
            await self.notifier.notify(
                message["author_id"],
                "error",
                f"{len(lost_attachments)} file(s) were not attached to your message: another message "
                "took them first. Upload them again to share them.",
                message["channel_id"],
            )

    async def message_event(self, event: str, message: dict[str, Any]) -> None:
        await self._emit(event, message, channel_room(message["channel_id"]))

    async def enter(self, user_id: str, channel_id: str) -> None:
        await self.rooms.change(user_id, channel_id, enter=True)

    async def leave(self, user_id: str, channel_id: str) -> None:
        await self.rooms.change(user_id, channel_id, enter=False)

    def announce(self, user_id: str, *, offline: bool = False) -> None:
        """Push `presence` to everyone sharing a channel with `user_id`, with the next batch."""
        self.announcer.changed(user_id, online=not offline)

    async def announce_status(self, user_id: str) -> None:
        """After PUT /me/status: others see it only while the user has a live socket."""
        if await self.presence.online([user_id]):
            self.announce(user_id)
