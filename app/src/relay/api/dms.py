"""Direct messages: one channel per member set."""

from fastapi import APIRouter, Response, status

from relay.api.deps import CurrentUser, DbSession, HubDep, SettingsDep
from relay.api.schemas import ChannelOut, DmIn
from relay.services import channels

router = APIRouter(prefix="/dms", tags=["dms"])


@router.post(
    "", status_code=status.HTTP_200_OK, responses={201: {"model": ChannelOut, "description": "created"}}
)
async def open_dm(
    body: DmIn, response: Response, session: DbSession, user: CurrentUser, hub: HubDep, settings: SettingsDep
) -> ChannelOut:
    """The DM of the caller and `user_ids` (the same channel for the same set); 201 when new."""
    channel, created = await channels.open_dm(
        session, user.user_id, body.user_ids, max_members=settings.max_dm_members
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
        for member in {user.user_id, *body.user_ids}:
            await hub.enter(member, channel.id)
    return ChannelOut.model_validate(channel)
