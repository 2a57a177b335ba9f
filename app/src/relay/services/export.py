"""User data export: one zip of what a user gave us, for GET /api/me/export and `relay export-user`.

The archive holds the user's profile, memberships, every message they authored (tombstones too),
their notification settings, and the files they uploaded, fetched from S3. It holds nothing
written by anyone else: no other author's messages (not even the parents of replies) and no
notification texts, which quote other people's messages.
"""

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db.models import Attachment, Channel, Membership, Message, User
from relay.errors import not_found
from relay.services import notifications, uploads
from relay.storage import Storage

CHUNK = 64 * 1024
IN_MEMORY = 8 * 1024 * 1024  # larger archives spill to a temporary file


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


async def _documents(session: AsyncSession, user: User) -> dict[str, Any]:
    memberships = await session.execute(
        select(Channel, Membership)
        .join(Membership, Membership.channel_id == Channel.id)
        .where(Membership.user_id == user.id)
        .order_by(Channel.id)
    )
    authored = await session.scalars(
        select(Message).where(Message.author_id == user.id).order_by(Message.created_at, Message.id)
    )
    files = await session.scalars(
        select(Attachment).where(Attachment.uploader_id == user.id).order_by(Attachment.created_at)
    )
    return {
        "profile.json": {
            "id": user.id,
            "name": user.name,
            "status": user.status,
            "status_text": user.status_text,
            "status_emoji": user.status_emoji,
            "created_at": _iso(user.created_at),
        },
        "memberships.json": [
            {
                "channel_id": channel.id,
                "name": channel.name,
                "kind": channel.kind,
                "private": channel.private,
                "joined_at": _iso(membership.joined_at),
                "notify_level": membership.notify_level or notifications.DEFAULT_LEVEL,
                "muted": membership.muted,
            }
            for channel, membership in memberships
        ],
        "messages.json": [
            {
                "id": m.id,
                "channel_id": m.channel_id,
                "seq": m.seq,
                "body": m.body,
                "parent_id": m.parent_id,
                "created_at": _iso(m.created_at),
                "edited_at": _iso(m.edited_at),
                "deleted_at": _iso(m.deleted_at),
            }
            for m in authored
        ],
        "notification_settings.json": await notifications.get_preferences(session, user.id),
        "files.json": [
            {
                "id": f.id,
                "filename": f.filename,
                "content_type": f.content_type,
                "size": f.size,
                "status": f.status,
                "message_id": f.message_id,
                "created_at": _iso(f.created_at),
                "path": f"files/{f.id}/{uploads.key_name(f.filename)}" if f.status == "ready" else None,
            }
            for f in files
        ],
    }


async def write_archive(out: IO[bytes], session: AsyncSession, storage: Storage, user_id: str) -> None:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found(f"user {user_id}")
    documents = await _documents(session, user)
    keys = {
        row.id: row.key
        for row in await session.scalars(
            select(Attachment).where(Attachment.uploader_id == user_id, Attachment.status == "ready")
        )
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, document in documents.items():
            archive.writestr(name, json.dumps(document, indent=2, ensure_ascii=False))
        for entry in documents["files.json"]:
            if entry["path"] is not None:
                archive.writestr(entry["path"], await storage.read(keys[entry["id"]]))


async def build_archive(session: AsyncSession, storage: Storage, user_id: str) -> SpooledTemporaryFile:
    """The archive in a spooled temporary file, rewound; the caller streams then closes it."""
    spool = SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 (closed by the caller after streaming)
    try:
        await write_archive(spool, session, storage, user_id)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def chunks(spool: SpooledTemporaryFile) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()
