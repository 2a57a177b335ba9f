"""Attachments: uploaded files, their verification state and the message they belong to.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Expand/contract: adds a table only; the previous release never reads it. The app role gets DML
through the default privileges the owner role set up (tests/utils/postgres.py, infra db_roles).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "uploader_id", sa.String(255), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("reason", sa.Text),
        sa.Column("message_id", sa.String(32), sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.CheckConstraint("status in ('pending', 'ready', 'rejected')", name="attachments_status_known"),
    )
    op.create_index("attachments_message_id", "attachments", ["message_id"])
    op.create_index("attachments_uploader_id", "attachments", ["uploader_id"])


def downgrade() -> None:
    op.drop_table("attachments")
