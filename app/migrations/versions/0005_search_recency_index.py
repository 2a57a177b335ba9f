"""Search: an index on (created_at, id) so frequent words are found newest first without a sort.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Expand/contract: adds an index only. `relay migrate` runs every migration inside one transaction
(app/migrations/env.py), so this is a plain CREATE INDEX: it blocks message inserts while it builds
(seconds per million messages here). On a large production table build it first, by hand, with
`CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_created_at ON messages (created_at DESC, id DESC);`
as the migrator role; this migration then finds it and does nothing.

Why: GET /api/search keeps migration 0001's `simple` configuration and GIN index and orders by
recency under a LIMIT. For a rare word the GIN posting list is short; for a frequent one (in
`simple` every word counts, stop words included) it holds a large share of all messages, and
reading them all to sort costs time in proportion. With this index the planner can walk messages
newest first, filter by the caller's channels and the query, and stop after `limit` rows.
loadtests/bench_search.py measures both (README "Search").
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS messages_created_at ON messages (created_at DESC, id DESC)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS messages_created_at")
