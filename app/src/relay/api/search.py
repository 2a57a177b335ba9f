"""Full-text search over the caller's channels (DESIGN §4a)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from relay.api.deps import CurrentUser, DbSession, StorageDep
from relay.api.schemas import NO_NUL, SearchPage
from relay.services import search as search_service

router = APIRouter(prefix="/search", tags=["search"])
Text = Annotated[str, Query(min_length=1, max_length=256, pattern=NO_NUL)]
Id = Annotated[str | None, Query(min_length=1, max_length=255, pattern=NO_NUL)]


@router.get("")
async def search(
    q: Text,
    session: DbSession,
    storage: StorageDep,
    user: CurrentUser,
    *,
    channel_id: Id = None,
    author_id: Annotated[
        str | None, Query(alias="from", min_length=1, max_length=255, pattern=NO_NUL)
    ] = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=search_service.MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SearchPage:
    """Newest first: "quoted phrases", `or`, `-word`; `from` = author id, `before` = ISO date."""
    page = await search_service.search(
        session,
        storage,
        user.user_id,
        q=q,
        channel_id=channel_id,
        author_id=author_id,
        before=before,
        limit=limit,
        cursor=cursor,
    )
    return SearchPage.model_validate(page)
