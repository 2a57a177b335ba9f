"""Who is notified of what, stored once per user and message, listed and marked read by REST.

Rules for a new message, per member other than the author (the channel's level defaults to
`mentions`; a DM follows the user's `dm` setting):
- muted channel: only a direct `@user` mention (if mentions are on);
- level `none`: nothing;
- otherwise the first that applies: direct `@user` mention (kind `mention`, if mentions are on),
  a reply to one of the user's messages (`reply`), `@channel` or, for a member online at that
  moment (a live socket on any replica, relay.realtime.presence), `@here` (`mention`, if mentions
  are on), and with level `all` any message (`message`).
Do-not-disturb (the preference, or the status `dnd`) stores the notification but pushes it live
only for the kinds in `dnd_allow`.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db.models import Membership, Notification, NotificationPreferences
from relay.errors import not_found
from relay.services.ids import new_id

KINDS = ("message", "mention", "reply", "dm", "upload", "error")
LEVELS = ("all", "mentions", "none")
DEFAULT_LEVEL = "mentions"
PREVIEW_CHARS = 140
_MENTION = re.compile(r"(?<![\w@])@([\w.\-]+)")
CHANNEL, HERE = "channel", "here"
# Which of the given users have a live socket now (PresenceTracker.online).
Online = Callable[[list[str]], Awaitable[set[str]]]


def mentions(body: str) -> set[str]:
    return {name.rstrip(".") for name in _MENTION.findall(body)}


@dataclass(frozen=True)
class Recipient:
    user_id: str
    level: str
    muted: bool
    dm: bool
    mentions: bool
    dnd: bool
    dnd_allow: tuple[str, ...]


def kind_for(
    recipient: Recipient, *, is_dm: bool, named: set[str], parent_author: str | None, online: bool
) -> str | None:
    """The kind of notification `recipient` gets for a message, or None (module docstring)."""
    direct = recipient.user_id in named and recipient.mentions
    everyone = CHANNEL in named or (HERE in named and online)
    if is_dm:
        return "dm" if recipient.dm else None
    if recipient.muted:
        return "mention" if direct else None
    if recipient.level == "none":
        return None
    if direct:
        return "mention"
    if parent_author == recipient.user_id:
        return "reply"
    if everyone and recipient.mentions:
        return "mention"
    return "message" if recipient.level == "all" else None


def pushed(recipient: Recipient, kind: str) -> bool:
    return not recipient.dnd or kind in recipient.dnd_allow


_RECIPIENTS = text(
    """
    SELECT mb.user_id, coalesce(mb.notify_level, :default_level) AS level, mb.muted,
           coalesce(p.dm, true) AS dm, coalesce(p.mentions, true) AS mentions,
           coalesce(p.dnd, false) OR u.status = 'dnd' AS dnd, coalesce(p.dnd_allow, '{}') AS dnd_allow
    FROM memberships mb
    JOIN users u ON u.id = mb.user_id
    LEFT JOIN notification_preferences p ON p.user_id = mb.user_id
    WHERE mb.channel_id = :channel_id AND mb.user_id <> :author_id
      AND (:everyone OR mb.user_id = ANY(:named) OR coalesce(mb.notify_level, :default_level) = 'all')
    """
)
# `listeners`: whether any member but the author takes every message (level `all`); when none does,
# a plain message (no mention, not a reply, not in a DM) notifies nobody and needs no member query.
_CONTEXT = text(
    """
    SELECT c.kind, c.name, (SELECT m.author_id FROM messages m WHERE m.id = :parent_id) AS parent_author,
           EXISTS (SELECT 1 FROM memberships mb
                   WHERE mb.channel_id = c.id AND mb.user_id <> :author_id
                     AND coalesce(mb.notify_level, :default_level) = 'all') AS listeners
    FROM channels c WHERE c.id = :channel_id
    """
)


async def recipients(
    session: AsyncSession, channel_id: str, author_id: str, *, everyone: bool, named: set[str]
) -> list[Recipient]:
    """The members who may get some kind (`kind_for` decides which): every member when `everyone`
    (a DM, `@channel`, `@here`), else the users `named` (mentions, a reply's parent author) and
    those whose level is `all`."""
    rows = await session.execute(
        _RECIPIENTS,
        {
            "channel_id": channel_id,
            "author_id": author_id,
            "default_level": DEFAULT_LEVEL,
            "everyone": everyone,
            "named": sorted(named),
        },
    )
    return [Recipient(r.user_id, r.level, r.muted, r.dm, r.mentions, r.dnd, tuple(r.dnd_allow)) for r in rows]


def _text(kind: str, message: dict[str, Any], channel_name: str) -> str:
    preview = message["body"][:PREVIEW_CHARS]
    author = message["author_id"]
    if kind == "dm":
        return f"{author}: {preview}"
    what = {"mention": "mentioned you", "reply": "replied", "message": "wrote"}[kind]
    return f"{author} {what} in {channel_name}: {preview}"


async def for_message(
    session: AsyncSession, message: dict[str, Any], online: Online
) -> list[tuple[str, dict[str, Any], bool]]:
    """Store the notifications a new message causes; returns (user id, notification, push live).

    Presence is asked only for an `@here`, and only about the channel's members. Only members who
    may get some kind are loaded (`recipients`); a plain message in a channel where nobody takes
    every message loads none.

    ON CONFLICT keeps one per user and message, so a message processed twice notifies once.
    """
    context = (
        await session.execute(
            _CONTEXT,
            {
                "channel_id": message["channel_id"],
                "parent_id": message["parent_id"],
                "author_id": message["author_id"],
                "default_level": DEFAULT_LEVEL,
            },
        )
    ).one_or_none()
    if context is None:
        return []
    named = mentions(message["body"])
    everyone = context.kind == "dm" or CHANNEL in named or HERE in named
    candidates = named if context.parent_author is None else named | {context.parent_author}
    if not (everyone or candidates or context.listeners):
        return []
    planned: dict[str, tuple[str, bool]] = {}
    members = await recipients(
        session, message["channel_id"], message["author_id"], everyone=everyone, named=candidates
    )
    present = await online([r.user_id for r in members]) if HERE in named else set()
    for recipient in members:
        kind = kind_for(
            recipient,
            is_dm=context.kind == "dm",
            named=named,
            parent_author=context.parent_author,
            online=recipient.user_id in present,
        )
        if kind is not None:
            planned[recipient.user_id] = (kind, pushed(recipient, kind))
    if not planned:
        return []
    rows = [
        {
            "id": new_id(),
            "user_id": user_id,
            "kind": kind,
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "text": _text(kind, message, context.name),
        }
        for user_id, (kind, _push) in planned.items()
    ]
    stored = await session.scalars(
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(constraint="notifications_user_message")
        .returning(Notification)
    )
    return [(row.user_id, pushed_view(row), planned[row.user_id][1]) for row in stored]


async def for_user(
    session: AsyncSession, user_id: str, kind: str, text_: str, channel_id: str | None = None
) -> tuple[dict[str, Any], bool]:
    """A notification that belongs to no message (upload status, errors)."""
    row = Notification(id=new_id(), user_id=user_id, kind=kind, channel_id=channel_id, text=text_)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    prefs = await session.get(NotificationPreferences, user_id)
    dnd = prefs is not None and prefs.dnd and kind not in prefs.dnd_allow
    return pushed_view(row), not dnd


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pushed_view(row: Notification) -> dict[str, Any]:
    """The §4a `notification` event payload."""
    return {
        "id": row.id,
        "kind": row.kind,
        "channel_id": row.channel_id,
        "message_id": row.message_id,
        "text": row.text,
        "created_at": _iso(row.created_at),
    }


def view(row: Notification) -> dict[str, Any]:
    """A REST listing entry: the event payload and whether it was read."""
    return {**pushed_view(row), "read": row.read_at is not None}


async def unread_count(session: AsyncSession, user_id: str) -> int:
    return await session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


async def list_notifications(
    session: AsyncSession, user_id: str, *, unread_only: bool, limit: int
) -> dict[str, Any]:
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    rows = await session.scalars(
        statement.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    return {"notifications": [view(row) for row in rows], "unread": await unread_count(session, user_id)}


async def mark_read(session: AsyncSession, user_id: str, ids: list[str]) -> int:
    """Mark the caller's own notifications read (others' ids are ignored); returns unread left."""
    await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.id.in_(ids), Notification.read_at.is_(None))
        .values(read_at=func.now())
    )
    await session.commit()
    return await unread_count(session, user_id)


async def get_preferences(session: AsyncSession, user_id: str) -> dict[str, Any]:
    prefs = await session.get(NotificationPreferences, user_id)
    channels = await session.execute(
        select(Membership.channel_id, Membership.notify_level, Membership.muted)
        .where(Membership.user_id == user_id)
        .order_by(Membership.channel_id)
    )
    return {
        "dm": prefs.dm if prefs else True,
        "mentions": prefs.mentions if prefs else True,
        "sound": prefs.sound if prefs else True,
        "dnd": prefs.dnd if prefs else False,
        "dnd_allow": list(prefs.dnd_allow) if prefs else [],
        "channels": [
            {"channel_id": row.channel_id, "level": row.notify_level or DEFAULT_LEVEL, "muted": row.muted}
            for row in channels
        ],
    }


async def put_preferences(session: AsyncSession, user_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace the global settings; change only the channels listed (each must be the caller's)."""
    settings = {key: values[key] for key in ("dm", "mentions", "sound", "dnd", "dnd_allow")}
    await session.execute(
        insert(NotificationPreferences)
        .values(user_id=user_id, **settings)
        .on_conflict_do_update(index_elements=["user_id"], set_=settings)
    )
    for channel in values["channels"]:
        changed = await session.execute(
            update(Membership)
            .where(Membership.user_id == user_id, Membership.channel_id == channel["channel_id"])
            .values(notify_level=channel["level"], muted=channel["muted"])
        )
        if changed.rowcount == 0:
            await session.rollback()
            raise not_found(f"channel {channel['channel_id']}")
    await session.commit()
    return await get_preferences(session, user_id)
