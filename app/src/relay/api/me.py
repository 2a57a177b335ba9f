"""The caller's own profile and status."""

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from relay.api.deps import CurrentUser, DbSession, HubDep, RuntimeDep, StorageDep, lift_database_deadline
from relay.api.errors import responses
from relay.api.schemas import MeOut, StatusIn
from relay.db.models import User
from relay.ratelimit import RateLimited
from relay.services import export, users

router = APIRouter(prefix="/me", tags=["me"])
# An export reads every file the user uploaded: a few per minute is plenty.
EXPORTS_PER_SECOND, EXPORT_BURST = 1 / 30, 3


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


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "zip archive"}, **responses(429)},
    dependencies=[Depends(lift_database_deadline)],
)
async def export_me(
    session: DbSession, user: CurrentUser, storage: StorageDep, runtime: RuntimeDep
) -> StreamingResponse:
    """A zip of the caller's profile, memberships, messages, notification settings and files."""
    decision = await runtime.rate_limiter.hit(f"export:{user.user_id}", EXPORTS_PER_SECOND, EXPORT_BURST)
    if not decision.allowed:
        raise RateLimited(decision)
    spool = await export.build_archive(session, storage, user.user_id)
    return StreamingResponse(
        export.chunks(spool),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="relay-export.zip"'},
    )
