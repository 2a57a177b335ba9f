"""Notifications and notification preferences; per-channel level and mute on memberships.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Expand/contract: new tables, and two membership columns that are nullable or have a constant
default (metadata-only in Postgres 11+, no table rewrite); the previous release never reads them.
A membership's `notify_level` NULL means the default: `mentions` for channels (DMs follow the
user's `dm` setting), so nothing is written per member until someone chooses.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "('message', 'mention', 'reply', 'dm', 'upload', 'error')"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(32), sa.ForeignKey("channels.id", ondelete="CASCADE")),
        sa.Column("message_id", sa.String(32), sa.ForeignKey("messages.id", ondelete="CASCADE")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(f"kind in {KINDS}", name="notifications_kind_known"),
        # One notification per user and message, whichever replica or retry produced it.
        sa.UniqueConstraint("user_id", "message_id", name="notifications_user_message"),
    )
    op.create_index("notifications_user_created", "notifications", ["user_id", "created_at", "id"])
    op.create_index(
        "notifications_user_unread", "notifications", ["user_id"], postgresql_where=sa.text("read_at IS NULL")
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.String(255), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dm", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("mentions", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sound", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("dnd", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("dnd_allow", ARRAY(sa.String(16)), nullable=False, server_default="{}"),
    )
    op.add_column("memberships", sa.Column("notify_level", sa.String(16)))
    op.add_column("memberships", sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_check_constraint(
        "memberships_notify_level_known", "memberships", "notify_level in ('all', 'mentions', 'none')"
    )


def downgrade() -> None:
    op.drop_constraint("memberships_notify_level_known", "memberships")
    op.drop_column("memberships", "muted")
    op.drop_column("memberships", "notify_level")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
