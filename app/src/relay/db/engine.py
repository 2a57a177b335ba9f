"""Engine and session factory, one per process, sized by RELAY_DATABASE_POOL_SIZE."""

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from relay.settings import Settings

# SQLSTATE classes of a database that is down, restarting or out of connections (57P01 admin
# shutdown, 57P03 starting up, 08xxx connection failures, 53300 too many connections): not a bug in
# a statement. asyncpg reports them as plain DBAPIErrors, so the class is what tells them apart.
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
UNAVAILABLE_ERRORS = (exc.DBAPIError, exc.TimeoutError, ConnectionError, TimeoutError)


def database_unavailable(error: BaseException) -> bool:
    """True when `error` means Postgres cannot be reached right now: callers answer a clean,
    retryable "unavailable" instead of a 500 or an ack that never comes."""
    if isinstance(error, exc.DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        return (
            error.connection_invalidated
            or isinstance(error, exc.OperationalError | exc.InterfaceError)
            or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES
        )
    return isinstance(error, UNAVAILABLE_ERRORS)


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
