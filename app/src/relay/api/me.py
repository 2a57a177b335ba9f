"""The caller's own profile and status."""

from fastapi import APIRouter

from relay.api.deps import CurrentUser, DbSession, HubDep
from relay.api.schemas import MeOut, StatusIn
from relay.db.models import User
from relay.services import users

router = APIRouter(prefix="/me", tags=["me"])


def _me(user: User) -> MeOut:
    return MeOut(
        id=user.id, name=user.name, status=user.status, text=user.status_text, emoji=user.status_emoji
    )


@router.get("")
async def get_me(session: DbSession, user: CurrentUser) -> MeOut:
    """The caller's profile and chosen status."""
    me = await users.get_user(session, user.user_id)
    assert me is not None  # created by the CurrentUser dependency
    return _me(me)


@router.put("/status")
async def put_status(body: StatusIn, session: DbSession, user: CurrentUser, hub: HubDep) -> MeOut:
    """Set online/away/dnd with optional text and emoji; others see it while a socket is live."""
    me = await users.set_status(session, user.user_id, status=body.status, text=body.text, emoji=body.emoji)
    await hub.announce_status(user.user_id)
    return _me(me)
