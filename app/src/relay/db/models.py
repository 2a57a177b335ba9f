"""Relational model. Ids are strings (DESIGN §4a); the schema itself is owned by Alembic migrations."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # the token's `sub`
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), server_default="online")
    status_text: Mapped[str | None] = mapped_column(String(255))
    status_emoji: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("status in ('online', 'away', 'dnd')", name="users_status_known"),)


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    private: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Sorted member ids of a DM: the same member set always finds the same channel.
    dm_key: Mapped[str | None] = mapped_column(Text, unique=True)
    # Last allocated message sequence. Incremented by UPDATE ... RETURNING inside the message's own
    # transaction, so the row lock orders concurrent senders and sequences never repeat or skip.
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("kind in ('channel', 'dm')", name="channels_kind_known"),)


class Membership(Base):
    __tablename__ = "memberships"

    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Read state: unread count = channels.last_seq - last_read_seq.
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Notification level: all / mentions / none; NULL is the default (mentions).
    notify_level: Mapped[str | None] = mapped_column(String(16))
    muted: Mapped[bool] = mapped_column(Boolean, server_default="false")

    __table_args__ = (Index("memberships_user_id", "user_id"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple', body)", persisted=True), deferred=True
    )

    __table_args__ = (
        UniqueConstraint("channel_id", "seq", name="messages_channel_seq"),
        UniqueConstraint("author_id", "client_msg_id", name="messages_author_client_msg_id"),
        Index("messages_search", "search", postgresql_using="gin"),
        Index("messages_parent_id", "parent_id"),
    )


class Attachment(Base):
    """An uploaded file: `pending` until POST /uploads/{id}/complete checks the stored object."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uploader_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(Text, unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("status in ('pending', 'ready', 'rejected')", name="attachments_status_known"),
        Index("attachments_message_id", "message_id"),
        Index("attachments_uploader_id", "uploader_id"),
    )


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("user_id", "message_id", name="notifications_user_message"),)


class NotificationPreferences(Base):
    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    dm: Mapped[bool] = mapped_column(Boolean, server_default="true")
    mentions: Mapped[bool] = mapped_column(Boolean, server_default="true")
    sound: Mapped[bool] = mapped_column(Boolean, server_default="true")
    dnd: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Kinds still pushed while do-not-disturb is on (e.g. ["dm"]).
    dnd_allow: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")


class NotificationOutbox(Base):
    """A stored message whose notifications are not produced yet (migration 0007): any replica drains it."""

    __tablename__ = "notification_outbox"

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ObjectDeletion(Base):
    """An object key to remove from the uploads bucket, kept until S3 confirms (migration 0007)."""

    __tablename__ = "object_deletions"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
