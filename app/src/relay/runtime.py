"""The per-process resources every request and socket event shares, built once by the lifespan."""

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from relay.auth.verifier import TokenVerifier
from relay.ratelimit import RateLimiter
from relay.services.message_writer import MessageWriter
from relay.services.object_sweeper import ObjectSweeper
from relay.services.users import KnownUsers
from relay.settings import Settings
from relay.storage import Storage


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    verifier: TokenVerifier
    rate_limiter: RateLimiter
    message_writer: MessageWriter
    storage: Storage
    object_sweeper: ObjectSweeper
    known_users: KnownUsers = field(default_factory=KnownUsers)
    draining: bool = False
