"""FastAPI dependencies as Annotated aliases: routes declare `session: DbSession, user: CurrentUser`.

Every dependency is `async def`, even the ones that only read app state: FastAPI runs a plain `def`
dependency in its thread pool, and those hand-offs to a thread and back delayed every request on a
busy machine (honest users' p99 under a flood, issue 7).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relay.auth.verifier import AuthError, Identity
from relay.errors import RelayError
from relay.logging import bind_user_id
from relay.realtime.hub import Hub
from relay.runtime import Runtime
from relay.services.message_writer import MessageWriter
from relay.services.users import ensure_user
from relay.settings import Settings
from relay.storage import Storage

SESSION_COOKIE = "__session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_hub(request: Request) -> Hub:
    return request.app.state.hub


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
HubDep = Annotated[Hub, Depends(get_hub)]


async def get_message_writer(runtime: RuntimeDep) -> MessageWriter:
    return runtime.message_writer


MessageWriterDep = Annotated[MessageWriter, Depends(get_message_writer)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_storage(runtime: RuntimeDep) -> Storage:
    return runtime.storage


StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_db(request: Request, runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's session, and its database deadline: a request stuck behind a slow or saturated
    database answers 503 "unavailable" (TimeoutError, relay.api.errors) before the client gives up,
    instead of holding its place in the pool queue."""
    async with asyncio.timeout(runtime.settings.database_deadline_seconds) as deadline:
        request.state.database_deadline = deadline
        async with runtime.sessions() as session:
            yield session


# "function": the session closes before the response is sent, inside the deadline. FastAPI's default
# for yield dependencies ("request") closes it after the response; a database link that froze then
# held the finished request's task (its connection's reset) until uvicorn's shutdown cancelled it.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def lift_database_deadline(request: Request, _session: DbSession) -> None:
    """For the export alone: its archive also reads every file from S3 while the session is open."""
    request.state.database_deadline.reschedule(None)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def check_cookie_origin(request: Request, allowed_origins: list[str]) -> None:
    """A browser attaches the cookie to cross-site requests too, so a state change authenticated by
    it must come from one of our origins (issue 7, finding 6); a bearer token cannot be sent so."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site") == "same-origin":
        return
    if request.headers.get("origin") in allowed_origins:
        return
    raise RelayError(
        "forbidden",
        "cross-site request with the session cookie: send an allowed Origin, or use Authorization: Bearer",
        403,
    )


async def current_user(request: Request, runtime: RuntimeDep, session: DbSession) -> Identity:
    token = bearer_token(request)
    if token is None and (token := request.cookies.get(SESSION_COOKIE)) is not None:
        check_cookie_origin(request, runtime.settings.allowed_origins)
    try:
        identity = await runtime.verifier.verify(token)
    except AuthError as error:
        raise RelayError("unauthorized", error.reason, 401, {"WWW-Authenticate": "Bearer"}) from None
    bind_user_id(identity.user_id)  # every log line of this request names the user
    await runtime.rate_limiter.enforce_user_api(identity.user_id)  # 429 past 50/s
    await ensure_user(session, identity, runtime.known_users)
    return identity


CurrentUser = Annotated[Identity, Depends(current_user)]
