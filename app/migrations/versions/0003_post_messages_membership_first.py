"""relay_post_messages(): check membership before the idempotency lookup.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Expand/contract: replaces the function body only; its signature and result rows are unchanged, so
the previous release's code calls it as before.

Why: 0002 looked up a retried client_msg_id before checking that the author is a member. Reusing
your own client_msg_id against a private channel you are not in then answered 409 ("used in another
channel") while an unknown channel answered 404, which told an outsider the private channel exists.
Now a non-member gets no row for either, and the service answers the same 404.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION relay_post_messages(p_channel_id text, p_items jsonb)
RETURNS TABLE (
    item integer, id text, channel_id text, seq bigint, author_id text, body text, client_msg_id text,
    parent_id text, created_at timestamptz, edited_at timestamptz, deleted_at timestamptz, created boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_start bigint;
    v_seq bigint;
    v_index integer;
    v_item jsonb;
BEGIN
    SELECT c.last_seq INTO v_seq FROM channels c WHERE c.id = p_channel_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_start := v_seq;
    FOR v_index, v_item IN
        SELECT e.ordinality::integer - 1, e.value FROM jsonb_array_elements(p_items) WITH ORDINALITY e
    LOOP
        -- Membership first: a non-member learns nothing, not even that its client_msg_id was seen.
        CONTINUE WHEN NOT EXISTS (
            SELECT 1 FROM memberships mb
            WHERE mb.channel_id = p_channel_id AND mb.user_id = v_item->>'author_id'
        );
        -- (::text: the columns are varchar(n); RETURN QUERY wants the declared types exactly.)
        RETURN QUERY
            SELECT v_index, m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body,
                   m.client_msg_id::text, m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, false
            FROM messages m
            WHERE m.author_id = v_item->>'author_id' AND m.client_msg_id = v_item->>'client_msg_id';
        CONTINUE WHEN FOUND;
        CONTINUE WHEN v_item->>'parent_id' IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM messages m WHERE m.id = v_item->>'parent_id' AND m.channel_id = p_channel_id
        );
        RETURN QUERY
            INSERT INTO messages AS m (id, channel_id, seq, author_id, body, client_msg_id, parent_id)
            VALUES (v_item->>'id', p_channel_id, v_seq + 1, v_item->>'author_id', v_item->>'body',
                    v_item->>'client_msg_id', v_item->>'parent_id')
            ON CONFLICT (author_id, client_msg_id) DO NOTHING
            RETURNING v_index, m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body,
                      m.client_msg_id::text, m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, true;
        IF FOUND THEN
            v_seq := v_seq + 1;
            UPDATE memberships mb SET last_read_seq = v_seq
            WHERE mb.channel_id = p_channel_id AND mb.user_id = v_item->>'author_id';
        ELSE
            -- A concurrent retry of this message committed first (ON CONFLICT waited for it); this
            -- statement's fresh snapshot sees it.
            RETURN QUERY
                SELECT v_index, m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body,
                       m.client_msg_id::text, m.parent_id::text, m.created_at, m.edited_at,
                       m.deleted_at, false
                FROM messages m
                WHERE m.author_id = v_item->>'author_id' AND m.client_msg_id = v_item->>'client_msg_id';
        END IF;
    END LOOP;
    IF v_seq > v_start THEN
        UPDATE channels c SET last_seq = v_seq WHERE c.id = p_channel_id;
    END IF;
END
$$
"""


def _previous_function() -> str:
    """0002's definition, read from its own file so the downgrade restores exactly that text."""
    path = Path(__file__).with_name("0002_post_messages_function.py")
    spec = importlib.util.spec_from_file_location("relay_migration_0002", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(_previous_function())
