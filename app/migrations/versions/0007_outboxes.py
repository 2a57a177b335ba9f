"""Outboxes: notification work and object deletions, written in the transaction that causes them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Expand/contract: two new tables; the previous release never reads or writes them.

Why: notifications were queued in the memory of the replica that took the message, so a replica
killed right after the ack lost them. Now the statement that stores a message also adds its id to
`notification_outbox` (relay.services.message_writer), and every replica drains that table
(relay.realtime.notifier): whichever replica survives produces the notifications. Likewise a
deleted message's files go to `object_deletions` in the tombstone's transaction and are removed
from S3 by any replica, retried while S3 is unreachable (relay.services.object_sweeper).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column(
            "message_id",
            sa.String(32),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_table(
        "object_deletions",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )


def downgrade() -> None:
    op.drop_table("object_deletions")
    op.drop_table("notification_outbox")
