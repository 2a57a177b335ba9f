"""Initial schema: users, channels, memberships (with read state), messages with full-text vector.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Expand/contract: this migration must work with the code of the previous release.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="online"),
        sa.Column("status_text", sa.String(255)),
        sa.Column("status_emoji", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("status in ('online', 'away', 'dnd')", name="users_status_known"),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("dm_key", sa.Text, unique=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(255), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("kind in ('channel', 'dm')", name="channels_kind_known"),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_read_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("memberships_user_id", "memberships", ["user_id"])
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("author_id", sa.String(255), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(32), sa.ForeignKey("messages.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("search", TSVECTOR, sa.Computed("to_tsvector('simple', body)", persisted=True)),
        sa.UniqueConstraint("channel_id", "seq", name="messages_channel_seq"),
        sa.UniqueConstraint("author_id", "client_msg_id", name="messages_author_client_msg_id"),
    )
    op.create_index("messages_search", "messages", ["search"], postgresql_using="gin")
    op.create_index("messages_parent_id", "messages", ["parent_id"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("memberships")
    op.drop_table("channels")
    op.drop_table("users")
