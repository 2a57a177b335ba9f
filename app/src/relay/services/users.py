"""Users: created on first sight of a valid token; profile status; lookup."""

from collections import OrderedDict

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relay.auth.verifier import Identity
from relay.db.models import User


class KnownUsers:
    """Bounded memory of user ids already in the table, so most requests skip the upsert."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, user_id: str) -> bool:
        if user_id in self._ids:
            self._ids.move_to_end(user_id)
            return True
        return False

    def add(self, user_id: str) -> None:
        self._ids[user_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


async def ensure_user(session: AsyncSession, identity: Identity, known: KnownUsers) -> None:
    if identity.user_id in known:
        return
    await session.execute(
        insert(User)
        .values(id=identity.user_id, name=identity.name)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    await session.commit()
    known.add(identity.user_id)


async def get_user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def set_status(
    session: AsyncSession, user_id: str, *, status: str, text: str | None, emoji: str | None
) -> User:
    user = await session.scalar(
        update(User)
        .where(User.id == user_id)
        .values(status=status, status_text=text, status_emoji=emoji)
        .returning(User)
    )
    await session.commit()
    assert user is not None  # the caller's row exists: ensure_user ran for this request
    return user


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_users(session: AsyncSession, query: str, *, limit: int = 20) -> list[User]:
    pattern = _like_pattern(query)
    statement = select(User).where(or_(User.id.ilike(pattern), User.name.ilike(pattern))).order_by(User.name)
    return list(await session.scalars(statement.limit(limit)))


async def existing_user_ids(session: AsyncSession, user_ids: set[str]) -> set[str]:
    return set(await session.scalars(select(User.id).where(User.id.in_(user_ids))))
