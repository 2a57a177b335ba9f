"""Channel messages: history pages, post (idempotent), edit and delete by the author."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from relay.api.deps import (
    CurrentUser,
    DbSession,
    HubDep,
    MessageWriterDep,
    RuntimeDep,
    SettingsDep,
    StorageDep,
)
from relay.api.errors import responses
from relay.api.schemas import ChannelIdPath, MessageEdit, MessageIdPath, MessageIn, MessageOut, MessagePage
from relay.services import messages

router = APIRouter(prefix="/channels/{channel_id}/messages", tags=["messages"])
Seq = Annotated[int | None, Query(ge=0, le=2**62)]


@router.get("")
async def list_messages(
    channel_id: ChannelIdPath,
    session: DbSession,
    storage: StorageDep,
    user: CurrentUser,
    after: Seq = None,
    before: Seq = None,
    limit: Annotated[int, Query(ge=1, le=messages.MAX_PAGE)] = messages.DEFAULT_PAGE,
) -> MessagePage:
    """Ascending by seq: after=N the oldest `limit` above N, before=N the newest below N, else newest."""
    page = await messages.list_messages(
        session, storage, user.user_id, channel_id, after=after, before=before, limit=limit
    )
    return MessagePage.model_validate({"messages": page})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": MessageOut, "description": "retried client_msg_id: the original"},
        **responses(409),
    },
)
async def post_message(
    channel_id: ChannelIdPath,
    body: MessageIn,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    hub: HubDep,
    settings: SettingsDep,
    writer: MessageWriterDep,
    storage: StorageDep,
    runtime: RuntimeDep,
) -> MessageOut:
    """Post a message (201); a retried `client_msg_id` returns the original (200), never a duplicate."""
    await runtime.rate_limiter.enforce_message(user.user_id)  # the socket's budget too (DESIGN §4)
    message, created, lost = await messages.post_message(
        session,
        writer,
        user.user_id,
        channel_id,
        body=body.body,
        client_msg_id=body.client_msg_id,
        parent_id=body.parent_id,
        max_chars=settings.max_message_chars,
        storage=storage,
        attachment_ids=body.attachment_ids,
    )
    if created:
        await hub.message_created(message, lost_attachments=lost)
    else:
        response.status_code = status.HTTP_200_OK
    return MessageOut.model_validate(message)


@router.patch("/{message_id}", responses=responses(403))
async def edit_message(
    channel_id: ChannelIdPath,
    message_id: MessageIdPath,
    body: MessageEdit,
    session: DbSession,
    user: CurrentUser,
    hub: HubDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> MessageOut:
    """Edit one's own message."""
    message = await messages.edit_message(
        session,
        storage,
        user.user_id,
        channel_id,
        message_id,
        body=body.body,
        max_chars=settings.max_message_chars,
    )
    await hub.message_event("message:updated", message)
    return MessageOut.model_validate(message)


@router.delete("/{message_id}", responses=responses(403))
async def delete_message(
    channel_id: ChannelIdPath,
    message_id: MessageIdPath,
    session: DbSession,
    user: CurrentUser,
    hub: HubDep,
    runtime: RuntimeDep,
) -> MessageOut:
    """Delete one's own message and its files, leaving a tombstone so sequences have no holes."""
    message = await messages.delete_message(session, user.user_id, channel_id, message_id)
    runtime.object_sweeper.wake()  # the files' objects were scheduled for removal with the tombstone
    await hub.message_event("message:deleted", message)
    return MessageOut.model_validate(message)
