"""relay_post_message(): allocate a message's seq and store it in one statement (one round trip).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Expand/contract: adds a function only; code of the previous release ignores it.

Why a function: the per-channel counter row is locked (FOR UPDATE) from the seq allocation until
commit, which orders commits by seq (a client that has seen seq N never misses a smaller one later).
Run as one autocommit statement, the lock is held only inside Postgres, not across client round
trips and event-loop delays, so a busy channel serialises on milliseconds, not on app scheduling.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION relay_post_message(
    p_id text, p_channel_id text, p_author_id text, p_body text, p_client_msg_id text, p_parent_id text
) RETURNS TABLE (
    id text, channel_id text, seq bigint, author_id text, body text, client_msg_id text, parent_id text,
    created_at timestamptz, edited_at timestamptz, deleted_at timestamptz, created boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_seq bigint;
BEGIN
    -- A retried client_msg_id returns the original, allocating nothing. (::text: the columns are
    -- varchar(n), and RETURN QUERY wants the declared result types exactly.)
    RETURN QUERY
        SELECT m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body, m.client_msg_id::text,
               m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, false
        FROM messages m WHERE m.author_id = p_author_id AND m.client_msg_id = p_client_msg_id;
    IF FOUND THEN
        RETURN;
    END IF;
    IF p_parent_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM messages m WHERE m.id = p_parent_id AND m.channel_id = p_channel_id
    ) THEN
        RAISE EXCEPTION 'parent message % is not in channel %', p_parent_id, p_channel_id
            USING ERRCODE = 'RL404';
    END IF;
    SELECT c.last_seq + 1 INTO v_seq FROM channels c
    WHERE c.id = p_channel_id
      AND EXISTS (SELECT 1 FROM memberships mb
                  WHERE mb.channel_id = p_channel_id AND mb.user_id = p_author_id)
    FOR UPDATE OF c;
    IF NOT FOUND THEN
        RETURN;  -- no such channel, or not a member: no rows
    END IF;
    RETURN QUERY
        INSERT INTO messages AS m (id, channel_id, seq, author_id, body, client_msg_id, parent_id)
        VALUES (p_id, p_channel_id, v_seq, p_author_id, p_body, p_client_msg_id, p_parent_id)
        ON CONFLICT (author_id, client_msg_id) DO NOTHING
        RETURNING m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body, m.client_msg_id::text,
                  m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, true;
    IF FOUND THEN
        -- The seq is consumed only once the row exists: the sequence never gets a hole.
        UPDATE channels c SET last_seq = v_seq WHERE c.id = p_channel_id;
        UPDATE memberships mb SET last_read_seq = v_seq
        WHERE mb.channel_id = p_channel_id AND mb.user_id = p_author_id;
        RETURN;
    END IF;
    -- A concurrent retry of this message committed first (ON CONFLICT waited for it); this
    -- statement's fresh snapshot sees it.
    RETURN QUERY
        SELECT m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body, m.client_msg_id::text,
               m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, false
        FROM messages m WHERE m.author_id = p_author_id AND m.client_msg_id = p_client_msg_id;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION relay_post_message(text, text, text, text, text, text)")
