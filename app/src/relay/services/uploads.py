"""Uploads: presign, verify the stored object at `complete`, read URLs, attach to messages.

The presigned POST's policy is what AWS enforces; `complete` re-checks the object itself (size, type,
disposition) because a client can lie and the local emulator enforces no policy at all (DESIGN §3).
Only the uploader sees a pending or unattached upload; anyone else gets the same 404 as for an
unknown id.
"""

import re
import secrets
import unicodedata
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db.models import Attachment
from relay.errors import RelayError, not_found
from relay.services.ids import new_id
from relay.settings import Settings
from relay.storage import Storage, content_disposition

MAX_FILENAME = 255
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def display_name(filename: str) -> str:
    """The name as shown: the last path segment, without control or format characters."""
    base = re.split(r"[/\\]", filename)[-1]
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    cleaned = cleaned.strip().lstrip(".").strip()
    return cleaned[:MAX_FILENAME] or "file"


def key_name(filename: str) -> str:
    """The name inside the object key and Content-Disposition: ASCII letters, digits, `._-` only."""
    ascii_name = unicodedata.normalize("NFKD", display_name(filename)).encode("ascii", "ignore").decode()
    safe = _UNSAFE_KEY_CHARS.sub("_", ascii_name).strip("._") or "file"
    return safe[-100:]


def disposition(content_type: str, filename: str) -> str:
    """The Content-Disposition a file is stored and served with, for its name as shown."""
    return content_disposition(content_type, key_name(filename), filename)


def view(attachment: Attachment, storage: Storage) -> dict[str, Any]:
    """The §4a upload object; `url` only once the file is ready."""
    ready = attachment.status == "ready"
    return {
        "id": attachment.id,
        "status": attachment.status,
        "reason": attachment.reason,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": storage.read_url(
            attachment.key, attachment.content_type, key_name(attachment.filename), attachment.filename
        )
        if ready
        else None,
    }


def status_text(attachment: Attachment) -> str:
    """The upload-status notification the uploader gets."""
    if attachment.status == "ready":
        return f"{attachment.filename} is uploaded and ready to share"
    return f"{attachment.filename} was rejected: {attachment.reason}"


def message_attachment(attachment: Attachment, storage: Storage) -> dict[str, Any]:
    """How a message carries a file: what to show and a short-lived URL to fetch it."""
    item = view(attachment, storage)
    del item["status"], item["reason"]
    return item


def check_declared(settings: Settings, content_type: str, size: int) -> None:
    limit = settings.upload_types.get(content_type.lower())
    if limit is None:
        allowed = ", ".join(sorted(settings.upload_types))
        raise RelayError(
            "unsupported_type", f"files of type {content_type} are not accepted; allowed: {allowed}", 415
        )
    if size > limit:
        raise RelayError(
            "file_too_large", f"{content_type} files may be at most {limit} bytes; this one is {size}", 413
        )


async def create_upload(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    user_id: str,
    *,
    filename: str,
    content_type: str,
    size: int,
) -> dict[str, Any]:
    content_type = content_type.lower()
    check_declared(settings, content_type, size)
    name = display_name(filename)
    key = f"uploads/{user_id}/{secrets.token_hex(16)}/{key_name(name)}"
    attachment = Attachment(
        id=new_id(), uploader_id=user_id, key=key, filename=name, content_type=content_type, size=size
    )
    session.add(attachment)
    await session.commit()
    post = storage.presigned_post(key, content_type, size, disposition(content_type, name))
    return {"id": attachment.id, "url": post["url"], "fields": post["fields"]}


async def own_upload(
    session: AsyncSession, user_id: str, upload_id: str, *, lock: bool = False
) -> Attachment:
    statement = select(Attachment).where(Attachment.id == upload_id, Attachment.uploader_id == user_id)
    attachment = await session.scalar(statement.with_for_update() if lock else statement)
    if attachment is None:
        raise not_found(f"upload {upload_id}")
    return attachment


def _mismatch(attachment: Attachment, stored) -> str | None:
    if stored is None:
        return "missing: no file was uploaded under this upload's key"
    if stored.size != attachment.size:
        return f"wrong size: {stored.size} bytes stored, {attachment.size} declared"
    if stored.content_type.lower() != attachment.content_type:
        return f"wrong type: {stored.content_type or 'none'} stored, {attachment.content_type} declared"
    expected = disposition(attachment.content_type, attachment.filename)
    # Uploads presigned by the previous release (for one upload URL lifetime) carry no filename*.
    previous = content_disposition(attachment.content_type, key_name(attachment.filename))
    if stored.content_disposition not in (expected, previous):
        return "wrong Content-Disposition: send the fields of POST /api/uploads unchanged"
    return None


async def complete_upload(
    session: AsyncSession, storage: Storage, user_id: str, upload_id: str
) -> tuple[Attachment, bool]:
    """pending -> ready | rejected, from a HEAD of the object; returns (attachment, changed)."""
    attachment = await own_upload(session, user_id, upload_id, lock=True)
    if attachment.status != "pending":
        await session.commit()
        return attachment, False
    stored = await storage.head(attachment.key)
    reason = _mismatch(attachment, stored)
    if reason is None:
        attachment.status = "ready"
    else:
        attachment.status, attachment.reason = "rejected", reason
        if stored is not None:
            await storage.delete(attachment.key)  # never keep bytes we did not agree to store
    await session.commit()
    return attachment, True


async def delete_upload(session: AsyncSession, storage: Storage, user_id: str, upload_id: str) -> None:
    attachment = await own_upload(session, user_id, upload_id, lock=True)
    await storage.delete(attachment.key)
    await session.delete(attachment)
    await session.commit()


async def check_attachable(session: AsyncSession, user_id: str, attachment_ids: list[str]) -> None:
    """Before a message is written: each id must be the sender's own ready, unattached upload."""
    if not attachment_ids:
        return
    found = await session.execute(
        select(Attachment.id, Attachment.status, Attachment.message_id).where(
            Attachment.id.in_(attachment_ids), Attachment.uploader_id == user_id
        )
    )
    rows = {row.id: row for row in found}
    for attachment_id in attachment_ids:
        row = rows.get(attachment_id)
        if row is None:
            raise not_found(f"upload {attachment_id}")
        if row.status != "ready" or row.message_id is not None:
            state = "already attached" if row.message_id else row.status
            raise RelayError(
                "upload_not_ready",
                f"upload {attachment_id} is {state}; attach only completed (ready), unused uploads",
                409,
            )


async def attach(
    session: AsyncSession, user_id: str, message_id: str, attachment_ids: list[str]
) -> list[str]:
    """Link uploads to a stored message; returns the ids that another message claimed first."""
    if not attachment_ids:
        return []
    linked = await session.scalars(
        update(Attachment)
        .where(
            Attachment.id.in_(attachment_ids),
            Attachment.uploader_id == user_id,
            Attachment.status == "ready",
            Attachment.message_id.is_(None),
        )
        .values(message_id=message_id)
        .returning(Attachment.id)
    )
    claimed = set(linked)
    await session.commit()
    return [attachment_id for attachment_id in attachment_ids if attachment_id not in claimed]


async def attachments_of(session: AsyncSession, message_ids: list[str]) -> dict[str, list[Attachment]]:
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(message_ids), Attachment.status == "ready")
        .order_by(Attachment.created_at, Attachment.id)
    )
    grouped: dict[str, list[Attachment]] = {}
    for row in rows:
        grouped.setdefault(row.message_id, []).append(row)
    return grouped
