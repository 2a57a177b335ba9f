"""relay_post_messages(): store a batch of one channel's messages in one statement (group commit).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Expand/contract: adds a function only; code of the previous release ignores it.

Why: the per-channel counter row is locked (FOR UPDATE) from seq allocation until commit, which
orders commits by seq (a client that has seen seq N never misses a smaller one later). So a channel's
messages are written one transaction after another, and each commit waits for a WAL flush. The app
(relay.services.message_writer) hands concurrent sends to the same channel to this function as one
batch: one round trip, one lock hold inside Postgres, one flush for the whole batch.

Per item (in array order): a retried client_msg_id returns the original (created = false) and
allocates nothing; otherwise, if the author is a member and the parent (if any) is a message of the
channel, the message is stored with the next seq (created = true). Items that fail those checks
return no row; the caller says why. A seq is consumed only once its row exists: no holes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION relay_post_messages(p_channel_id text, p_items jsonb)
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
        -- (::text: the columns are varchar(n); RETURN QUERY wants the declared types exactly.)
        RETURN QUERY
            SELECT v_index, m.id::text, m.channel_id::text, m.seq, m.author_id::text, m.body,
                   m.client_msg_id::text, m.parent_id::text, m.created_at, m.edited_at, m.deleted_at, false
            FROM messages m
            WHERE m.author_id = v_item->>'author_id' AND m.client_msg_id = v_item->>'client_msg_id';
        CONTINUE WHEN FOUND;
        CONTINUE WHEN NOT EXISTS (
            SELECT 1 FROM memberships mb
            WHERE mb.channel_id = p_channel_id AND mb.user_id = v_item->>'author_id'
        );
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


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION relay_post_messages(text, jsonb)")
