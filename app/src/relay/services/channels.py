"""Channels, memberships and DMs. Unknown and not-yours look the same from outside: 404 (no leak)."""

from dataclasses import dataclass

from sqlalchemy import and_, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db.models import Channel, Membership, User
from relay.errors import RelayError, not_found
from relay.services.ids import new_id
from relay.services.users import existing_user_ids


@dataclass(frozen=True)
class ChannelView:
    id: str
    name: str
    private: bool
    kind: str
    unread: int = 0


def _view(channel: Channel, unread: int = 0) -> ChannelView:
    return ChannelView(channel.id, channel.name, channel.private, channel.kind, unread)


async def member_channel(session: AsyncSession, channel_id: str, user_id: str) -> Channel:
    """The channel, if `user_id` belongs to it; otherwise 404 whether or not it exists."""
    channel = await session.scalar(
        select(Channel)
        .join(Membership, and_(Membership.channel_id == Channel.id, Membership.user_id == user_id))
        .where(Channel.id == channel_id)
    )
    if channel is None:
        raise not_found(f"channel {channel_id}")
    return channel


async def channel_member_ids(session: AsyncSession, channel_id: str) -> list[str]:
    return list(await session.scalars(select(Membership.user_id).where(Membership.channel_id == channel_id)))


async def create_channel(session: AsyncSession, user_id: str, *, name: str, private: bool) -> ChannelView:
    channel = Channel(id=new_id(), name=name, kind="channel", private=private, created_by=user_id, last_seq=0)
    session.add(channel)
    await session.flush()
    session.add(Membership(channel_id=channel.id, user_id=user_id, last_read_seq=0))
    await session.commit()
    return _view(channel)


async def list_my_channels(session: AsyncSession, user_id: str) -> list[ChannelView]:
    rows = await session.execute(
        select(Channel, Channel.last_seq - Membership.last_read_seq)
        .join(Membership, Membership.channel_id == Channel.id)
        .where(Membership.user_id == user_id)
        .order_by(Channel.kind, Channel.name, Channel.id)
    )
    return [_view(channel, max(int(unread), 0)) for channel, unread in rows]


async def list_public_channels(session: AsyncSession, *, limit: int = 500) -> list[ChannelView]:
    rows = await session.scalars(
        select(Channel)
        .where(Channel.kind == "channel", Channel.private.is_(False))
        .order_by(Channel.name, Channel.id)
        .limit(limit)
    )
    return [_view(channel) for channel in rows]


async def _add_member(session: AsyncSession, channel: Channel, user_id: str) -> None:
    # A newcomer starts with nothing unread: history is there to scroll, not to badge.
    await session.execute(
        insert(Membership)
        .values(channel_id=channel.id, user_id=user_id, last_read_seq=channel.last_seq)
        .on_conflict_do_nothing(index_elements=["channel_id", "user_id"])
    )


async def join_channel(session: AsyncSession, user_id: str, channel_id: str) -> ChannelView:
    channel = await session.get(Channel, channel_id)
    if channel is None or channel.kind != "channel" or channel.private:
        # Private channels are joined by invitation only; answer as for an unknown id.
        raise not_found(f"public channel {channel_id}")
    await _add_member(session, channel, user_id)
    await session.commit()
    return _view(channel)


async def leave_channel(session: AsyncSession, user_id: str, channel_id: str) -> None:
    channel = await member_channel(session, channel_id, user_id)
    if channel.kind == "dm":
        raise RelayError(
            "dm_membership_fixed", "a direct message cannot be left; its membership is fixed", 409
        )
    await session.execute(
        delete(Membership).where(Membership.channel_id == channel_id, Membership.user_id == user_id)
    )
    await session.commit()


async def add_member(session: AsyncSession, user_id: str, channel_id: str, new_member_id: str) -> None:
    channel = await member_channel(session, channel_id, user_id)
    if channel.kind == "dm":
        raise RelayError(
            "dm_membership_fixed",
            "members cannot be added to a direct message; open a new one with POST /api/dms",
            409,
        )
    if await session.get(User, new_member_id) is None:
        raise not_found(f"user {new_member_id}")
    await _add_member(session, channel, new_member_id)
    await session.commit()


async def open_dm(
    session: AsyncSession, user_id: str, other_ids: list[str], *, max_members: int
) -> tuple[ChannelView, bool]:
    """The DM for exactly this member set, created on first use; returns (channel, created)."""
    members = {user_id, *other_ids}
    if len(members) > max_members:
        raise RelayError(
            "too_many_members",
            f"a direct message has at most {max_members} members (got {len(members)})",
            422,
        )
    missing = members - await existing_user_ids(session, members)
    if missing:
        raise not_found(f"user {sorted(missing)[0]}")
    key = ",".join(sorted(members))
    names = await session.scalars(select(User.name).where(User.id.in_(members)).order_by(User.name))
    created_id = await session.scalar(
        insert(Channel)
        .values(
            id=new_id(),
            name=", ".join(names)[:80],
            kind="dm",
            private=True,
            dm_key=key,
            created_by=user_id,
            last_seq=0,
        )
        .on_conflict_do_nothing(index_elements=["dm_key"])
        .returning(Channel.id)
    )
    if created_id is not None:
        await session.execute(
            insert(Membership),
            [{"channel_id": created_id, "user_id": member, "last_read_seq": 0} for member in members],
        )
    await session.commit()
    channel = await session.scalar(select(Channel).where(Channel.dm_key == key))
    assert channel is not None  # inserted above or by a concurrent request that committed first
    return _view(channel), created_id is not None
