"""Notifications (list, mark read) and notification preferences (DESIGN §4a)."""

from typing import Annotated

from fastapi import APIRouter, Query

from relay.api.deps import CurrentUser, DbSession
from relay.api.schemas import NotificationList, NotificationPreferencesIO, ReadIn, UnreadOut
from relay.services import notifications

router = APIRouter(tags=["notifications"])


@router.get("/notifications")
async def list_notifications(
    session: DbSession,
    user: CurrentUser,
    *,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    """The caller's notifications, newest first, with the unread count."""
    found = await notifications.list_notifications(session, user.user_id, unread_only=unread, limit=limit)
    return NotificationList.model_validate(found)


@router.post("/notifications/read")
async def mark_read(body: ReadIn, session: DbSession, user: CurrentUser) -> UnreadOut:
    """Mark the caller's notifications read; returns how many stay unread."""
    return UnreadOut(unread=await notifications.mark_read(session, user.user_id, body.ids))


@router.get("/notification-preferences")
async def get_preferences(session: DbSession, user: CurrentUser) -> NotificationPreferencesIO:
    """DM, mention, sound and do-not-disturb settings, and each channel's level and mute."""
    return NotificationPreferencesIO.model_validate(
        await notifications.get_preferences(session, user.user_id)
    )


@router.put("/notification-preferences")
async def put_preferences(
    body: NotificationPreferencesIO, session: DbSession, user: CurrentUser
) -> NotificationPreferencesIO:
    """Replace the global settings and change the channels listed (each must be the caller's)."""
    saved = await notifications.put_preferences(session, user.user_id, body.model_dump())
    return NotificationPreferencesIO.model_validate(saved)
