"""User lookup, with presence as others see it."""

from typing import Annotated

from fastapi import APIRouter, Query

from relay.api.deps import CurrentUser, DbSession, HubDep
from relay.api.schemas import NO_NUL, UserList, UserOut
from relay.services import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
async def search_users(
    session: DbSession,
    _user: CurrentUser,
    hub: HubDep,
    q: Annotated[str, Query(max_length=100, pattern=NO_NUL)] = "",
) -> UserList:
    """Users whose id or name contains `q`; status is `offline` unless they have a live socket."""
    found = await users.search_users(session, q)
    online = await hub.presence.online([user.id for user in found])
    return UserList(
        users=[
            UserOut(id=user.id, name=user.name, status=user.status if user.id in online else "offline")
            for user in found
        ]
    )
