"""Messages: post (idempotent per author and client_msg_id), history pages, edits and tombstones.

Delivery guarantee (DESIGN §4): a message is committed before anyone broadcasts it, and carries a
per-channel sequence without holes, so a client that keeps the last seq it saw can catch up with
`?after=N` and sees every message exactly once.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db.models import Attachment, Membership, Message, ObjectDeletion
from relay.errors import RelayError, not_found
from relay.services import uploads
from relay.services.channels import member_channel
from relay.services.ids import new_id
from relay.services.message_writer import MessageWriter
from relay.storage import Storage

MAX_PAGE = 200
DEFAULT_PAGE = 50


def _iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z suffix, the same text REST responses carry."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def payload(row: Row | Message, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The §4a message object, ready for JSON: built once and shared by REST, ack and broadcast."""
    return {
        "id": row.id,
        "channel_id": row.channel_id,
        "seq": row.seq,
        "author_id": row.author_id,
        "body": row.body,
        "client_msg_id": row.client_msg_id,
        "parent_id": row.parent_id,
        "attachments": attachments or [],
        "created_at": _iso(row.created_at),
        "edited_at": _iso(row.edited_at),
        "deleted_at": _iso(row.deleted_at),
    }


def check_body(body: str, max_chars: int) -> str:
    if not body.strip():
        raise RelayError("invalid_body", f"message body is empty; send 1 to {max_chars} characters", 422)
    if len(body) > max_chars:
        raise RelayError(
            "invalid_body", f"message body has {len(body)} characters; the limit is {max_chars}", 422
        )
    return body


def _check_retry(row: Row, client_msg_id: str, channel_id: str) -> None:
    if row.channel_id != channel_id:
        raise RelayError(
            "client_msg_id_reused",
            f"client_msg_id {client_msg_id} was already used for a message in another channel; "
            "generate a new one per message",
            409,
        )


async def with_attachments(
    session: AsyncSession, storage: Storage, rows: list[Row] | list[Message]
) -> list[dict[str, Any]]:
    """Payloads with each message's files (one query for the page, short-lived URLs)."""
    files = await uploads.attachments_of(session, [row.id for row in rows if row.deleted_at is None])
    return [
        payload(row, [uploads.message_attachment(item, storage) for item in files.get(row.id, [])])
        for row in rows
    ]


async def post_message(
    session: AsyncSession,
    writer: MessageWriter,
    author_id: str,
    channel_id: str,
    *,
    body: str,
    client_msg_id: str,
    parent_id: str | None,
    max_chars: int,
    storage: Storage,
    attachment_ids: list[str] = (),
) -> tuple[dict[str, Any], bool, list[str]]:
    """Store a message; returns (message, created, attachment ids another message claimed first).

    A retried client_msg_id returns the original. Files are linked after the message is committed,
    so a failure there never loses the message: the sender is told which files were not attached.
    """
    check_body(body, max_chars)
    attachment_ids = list(dict.fromkeys(attachment_ids))
    await uploads.check_attachable(session, author_id, attachment_ids)
    row = await writer.write(
        channel_id,
        {
            "id": new_id(),
            "author_id": author_id,
            "body": body,
            "client_msg_id": client_msg_id,
            "parent_id": parent_id,
        },
    )
    if row is None:  # refused: say why, without telling a non-member anything
        await member_channel(session, channel_id, author_id)
        raise not_found(f"parent message {parent_id}" if parent_id else f"channel {channel_id}")
    if not row.created:
        _check_retry(row, client_msg_id, channel_id)
        return (await with_attachments(session, storage, [row]))[0], False, []
    lost = await uploads.attach(session, author_id, row.id, attachment_ids)
    if len(lost) == len(attachment_ids):  # no file attached (most messages): no query on the send path
        return payload(row, []), True, lost
    return (await with_attachments(session, storage, [row]))[0], True, lost


def _clamp(limit: int | None) -> int:
    return min(max(limit or DEFAULT_PAGE, 1), MAX_PAGE)


async def list_messages(
    session: AsyncSession,
    storage: Storage,
    user_id: str,
    channel_id: str,
    *,
    after: int | None,
    before: int | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    """DESIGN §4a: ascending by seq; after=N the oldest `limit` above N; before=N the newest below N."""
    await member_channel(session, channel_id, user_id)
    statement = select(Message).where(Message.channel_id == channel_id)
    if after is not None:
        statement = statement.where(Message.seq > after)
    if before is not None:
        statement = statement.where(Message.seq < before)
    newest_first = after is None
    order = Message.seq.desc() if newest_first else Message.seq.asc()
    rows = list(await session.scalars(statement.order_by(order).limit(_clamp(limit))))
    if newest_first:
        rows.reverse()
    if rows:
        await _mark_read(session, user_id, channel_id, rows[-1].seq)
    return await with_attachments(session, storage, rows)


async def _mark_read(session: AsyncSession, user_id: str, channel_id: str, seq: int) -> None:
    """Reading a page moves the reader's read state forward (never back): unread counts shrink."""
    await session.execute(
        update(Membership)
        .where(
            Membership.channel_id == channel_id, Membership.user_id == user_id, Membership.last_read_seq < seq
        )
        .values(last_read_seq=seq)
    )
    await session.commit()


async def _own_message(session: AsyncSession, user_id: str, channel_id: str, message_id: str) -> Message:
    await member_channel(session, channel_id, user_id)
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.channel_id == channel_id).with_for_update()
    )
    if message is None:
        raise not_found(f"message {message_id}")
    if message.author_id != user_id:
        raise RelayError("not_author", "only the author can change or delete a message", 403)
    return message


async def edit_message(
    session: AsyncSession,
    storage: Storage,
    user_id: str,
    channel_id: str,
    message_id: str,
    *,
    body: str,
    max_chars: int,
) -> dict[str, Any]:
    check_body(body, max_chars)
    message = await _own_message(session, user_id, channel_id, message_id)
    if message.deleted_at is not None:
        raise RelayError("message_deleted", f"message {message_id} was deleted and cannot be edited", 409)
    message.body, message.edited_at = body, func.now()
    await session.commit()
    await session.refresh(message)
    return (await with_attachments(session, storage, [message]))[0]


async def delete_message(
    session: AsyncSession, user_id: str, channel_id: str, message_id: str
) -> dict[str, Any]:
    """Leave a tombstone (empty body, deleted_at, no files) so the channel's sequence keeps no holes.

    The files go with it: their keys are scheduled for removal from S3 in the same transaction
    (relay.services.object_sweeper), and the attachments are forgotten.
    """
    message = await _own_message(session, user_id, channel_id, message_id)
    if message.deleted_at is None:
        message.body, message.deleted_at = "", func.now()
        files = select(Attachment.key).where(Attachment.message_id == message_id)
        await session.execute(insert(ObjectDeletion).from_select(["key"], files))
        await session.execute(delete(Attachment).where(Attachment.message_id == message_id))
        await session.commit()
        await session.refresh(message)
    return payload(message)
