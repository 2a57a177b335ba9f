"""Engine and session factory, one per process, sized by RELAY_DATABASE_POOL_SIZE."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from relay.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    # pool_size x max replicas must stay within 80% of max_connections (DESIGN §4): no overflow.
    return create_async_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 10},
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
