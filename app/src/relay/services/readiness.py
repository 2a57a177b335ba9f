"""Readiness: can this process reach Postgres, Redis and S3? Each check is short and bounded.

Used by /readyz for verification and alerting only; load balancers use the shallow /healthz, so a
Redis blip never drains every pod (DESIGN §4).
"""

import asyncio
from functools import cached_property

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.settings import Settings

CHECK_SECONDS = 2.0


class Readiness:
    def __init__(self, settings: Settings, engine: AsyncEngine, redis: Redis) -> None:
        self._settings, self._engine, self._redis = settings, engine, redis

    @cached_property
    def _s3(self):
        endpoint = str(self._settings.s3_endpoint_url) if self._settings.s3_endpoint_url else None
        return boto3.client(
            "s3",
            region_name=self._settings.s3_region,
            endpoint_url=endpoint,
            config=Config(connect_timeout=1, read_timeout=CHECK_SECONDS, retries={"max_attempts": 1}),
        )

    async def _postgres(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("select 1"))

    async def _redis_ping(self) -> None:
        await self._redis.ping()

    async def _s3_head(self) -> None:
        await asyncio.to_thread(self._s3.head_bucket, Bucket=self._settings.s3_bucket)

    async def _run(self, check) -> str:
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await check()
        except TimeoutError:
            return f"no answer within {CHECK_SECONDS:g} s"
        except (SQLAlchemyError, RedisError, BotoCoreError, ClientError, OSError) as error:
            return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        return "ok"

    async def check(self) -> dict[str, str]:
        names = ("postgres", "redis", "s3")
        results = await asyncio.gather(
            self._run(self._postgres), self._run(self._redis_ping), self._run(self._s3_head)
        )
        return dict(zip(names, results, strict=True))
