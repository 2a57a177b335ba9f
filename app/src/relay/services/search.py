"""Full-text search over the messages the caller can read (DESIGN §4a `GET /search`).

- Parser: `websearch_to_tsquery`, which accepts any text ("quoted phrases", `or`, `-term`) without
  raising, so raw user input never errors; it is a bound parameter, never SQL.
- Configuration: `simple` (migration 0001's generated column): no stemming and no stop words, so
  every word counts, names and code identifiers match exactly, and no language is assumed for a
  multilingual team. The cost is that very frequent words have long posting lists; the
  (channel_id, created_at) index of migration 0005 lets the planner walk the caller's channels
  newest first for those instead (loadtests/bench_search.py measures both kinds).
- Order: newest first under LIMIT. Ranking by ts_rank must read every match before the LIMIT, which
  grows with the word's frequency; recency stops after `limit` rows (README "Search" has figures).
- Snippets: ts_headline with control-character markers on the body stripped of those characters;
  the text is HTML-escaped here and only then are the markers turned into <mark>, so a snippet can
  never carry the author's HTML.
"""

import base64
import binascii
import html
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relay.errors import RelayError
from relay.services import messages
from relay.storage import Storage

MAX_LIMIT = 50
START, STOP = "\x01", "\x02"
HEADLINE_OPTIONS = (
    "StartSel=\x01, StopSel=\x02, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=\x03"
)

# Optional filters are added as fixed SQL fragments (values stay bound parameters), so each
# combination gets a plan of its own instead of one generic plan full of `:x IS NULL OR ...`.
_FILTERS = {
    "channel_id": "m.channel_id = :channel_id",
    "author_id": "m.author_id = :author_id",
    "before": "m.created_at < :before",
    "cursor_at": "(m.created_at, m.id) < (:cursor_at, CAST(:cursor_id AS varchar))",
}
_SQL = """
WITH hits AS (
    SELECT m.* FROM messages m
    WHERE m.search @@ websearch_to_tsquery('simple', :q)
      AND m.deleted_at IS NULL
      AND m.channel_id = ANY (ARRAY(SELECT mb.channel_id FROM memberships mb WHERE mb.user_id = :user_id))
      {filters}
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT :limit
)
SELECT hits.*,
       ts_headline('simple', translate(hits.body, E'\\x01\\x02\\x03', ''),
                   websearch_to_tsquery('simple', :q), :options) AS snippet
FROM hits
ORDER BY hits.created_at DESC, hits.id DESC
"""
# The best plan depends on the words: a rare word reads its GIN posting list, a frequent one walks
# messages newest first and stops at `limit`. A cached generic plan cannot see the words, so each
# search is planned for its own parameters.
CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan")


def search_statement(params: dict[str, Any]):
    filters = "".join(f"AND {sql} " for name, sql in _FILTERS.items() if params.get(name) is not None)
    return text(_SQL.format(filters=filters))


def encode_cursor(created_at: datetime, message_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{message_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        moment, _, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(moment), message_id
    except (binascii.Error, UnicodeError, ValueError):
        raise RelayError(
            "invalid_cursor", "cursor is not one this API returned; pass next_cursor unchanged", 422
        ) from None


def highlight(snippet: str) -> str:
    """Escape everything the author wrote, then mark the matches."""
    escaped = html.escape(snippet, quote=True)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>").replace("\x03", " … ")


async def search(
    session: AsyncSession,
    storage: Storage,
    user_id: str,
    *,
    q: str,
    channel_id: str | None,
    author_id: str | None,
    before: datetime | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    cursor_at, cursor_id = decode_cursor(cursor) if cursor else (None, None)
    if before is not None and before.tzinfo is None:
        before = before.replace(tzinfo=UTC)  # a bare date or time is UTC (DESIGN §4a)
    params = {
        "q": q,
        "user_id": user_id,
        "channel_id": channel_id,
        "author_id": author_id,
        "before": before,
        "cursor_at": cursor_at,
        "cursor_id": cursor_id,
        "limit": limit,
        "options": HEADLINE_OPTIONS,
    }
    statement = search_statement(params)
    await session.execute(CUSTOM_PLAN)
    rows = list(await session.execute(statement, {k: v for k, v in params.items() if v is not None}))
    found = await messages.with_attachments(session, storage, rows)
    results = [
        {"message": message, "snippet": highlight(row.snippet)}
        for message, row in zip(found, rows, strict=True)
    ]
    last = rows[-1] if len(rows) == limit else None
    return {"results": results, "next_cursor": encode_cursor(last.created_at, last.id) if last else None}
