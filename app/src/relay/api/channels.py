"""Channels: create, list (with unread counts), browse public ones, join, leave, add members."""

from typing import Literal

from fastapi import APIRouter, Response, status

from relay.api.deps import CurrentUser, DbSession, HubDep
from relay.api.schemas import ChannelIdPath, ChannelIn, ChannelList, ChannelOut, MemberIn
from relay.services import channels

router = APIRouter(prefix="/channels", tags=["channels"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(body: ChannelIn, session: DbSession, user: CurrentUser, hub: HubDep) -> ChannelOut:
    """Create a channel; the creator is its first member."""
    channel = await channels.create_channel(session, user.user_id, name=body.name, private=body.private)
    await hub.enter(user.user_id, channel.id)
    return ChannelOut.model_validate(channel)


@router.get("")
async def list_channels(
    session: DbSession, user: CurrentUser, scope: Literal["mine", "public"] = "mine"
) -> ChannelList:
    """The caller's channels and DMs with unread counts, or (`scope=public`) every public channel."""
    if scope == "public":
        found = await channels.list_public_channels(session)
    else:
        found = await channels.list_my_channels(session, user.user_id)
    return ChannelList(channels=[ChannelOut.model_validate(channel) for channel in found])


@router.post("/{channel_id}/join")
async def join_channel(
    channel_id: ChannelIdPath, session: DbSession, user: CurrentUser, hub: HubDep
) -> ChannelOut:
    """Join a public channel (idempotent)."""
    channel = await channels.join_channel(session, user.user_id, channel_id)
    await hub.enter(user.user_id, channel_id)
    return ChannelOut.model_validate(channel)


@router.post("/{channel_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave_channel(
    channel_id: ChannelIdPath, session: DbSession, user: CurrentUser, hub: HubDep
) -> Response:
    """Leave a channel; a DM's membership is fixed."""
    await channels.leave_channel(session, user.user_id, channel_id)
    await hub.leave(user.user_id, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{channel_id}/members", status_code=status.HTTP_204_NO_CONTENT)
async def add_member(
    channel_id: ChannelIdPath, body: MemberIn, session: DbSession, user: CurrentUser, hub: HubDep
) -> Response:
    """Add a user to a channel the caller belongs to (any member may add to a private channel)."""
    await channels.add_member(session, user.user_id, channel_id, body.user_id)
    await hub.enter(body.user_id, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
