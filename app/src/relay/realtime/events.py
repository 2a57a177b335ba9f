"""Socket.IO event handlers: handshake auth, rooms on connect, message:send, typing, auth:refresh."""

import asyncio
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError
from sqlalchemy import select

from relay.api.schemas import ClientMsgId, ObjectId, bounded_text
from relay.auth.verifier import AuthError
from relay.db.engine import UNAVAILABLE_ERRORS, database_unavailable
from relay.db.models import Membership
from relay.errors import RelayError
from relay.metrics import record_socket_connected, record_socket_disconnected
from relay.ratelimit import rate_limited_message
from relay.realtime.hub import Hub
from relay.realtime.rooms import channel_room, user_room
from relay.realtime.token_expiry import REASON as TOKEN_EXPIRED
from relay.realtime.token_expiry import TokenDeadlines
from relay.runtime import Runtime
from relay.services import messages
from relay.services.users import ensure_user

log = logging.getLogger(__name__)


class SendIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    channel_id: ObjectId
    body: bounded_text(1_000_000)
    client_msg_id: ClientMsgId
    parent_id: ObjectId | None = None
    attachment_ids: list[ObjectId] = Field(default_factory=list, max_length=10)


class TypingIn(BaseModel):
    channel_id: ObjectId


class RefreshIn(BaseModel):
    token: str


def _handshake_token(environ: dict, auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return auth["token"]
    try:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = cookie.get("__session")
    return morsel.value if morsel else None


def _failure(error: RelayError) -> dict[str, Any]:
    return {"ok": False, **error.body()}


def register_events(sio: socketio.AsyncServer, runtime: Runtime, hub: Hub) -> None:
    users: dict[str, str] = {}  # sid -> user id, for this replica's sockets
    deadlines = TokenDeadlines(sio)

    @sio.event
    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        try:
            identity = await runtime.verifier.verify(_handshake_token(environ, auth))
        except AuthError as error:
            raise socketio.exceptions.ConnectionRefusedError(error.reason) from None
        try:
            async with runtime.sessions() as session:
                await ensure_user(session, identity, runtime.known_users)
                channel_ids = list(
                    await session.scalars(
                        select(Membership.channel_id).where(Membership.user_id == identity.user_id)
                    )
                )
        except UNAVAILABLE_ERRORS as error:
            if not database_unavailable(error):
                raise
            log.warning("socket refused: the database is unreachable: %s", type(error).__name__)
            raise socketio.exceptions.ConnectionRefusedError("unavailable") from None
        users[sid] = identity.user_id
        deadlines.schedule(sid, identity.expires_at)
        record_socket_connected()
        await sio.enter_room(sid, user_room(identity.user_id))
        for channel_id in channel_ids:
            await sio.enter_room(sid, channel_room(channel_id))
        try:
            came_online = await hub.presence.connected(identity.user_id, sid)
        except (RedisError, OSError) as error:
            log.warning("presence not recorded for a new socket: %s", error)
            return
        if came_online:
            hub.announce(identity.user_id)

    @sio.event
    async def disconnect(sid: str, *reason: Any) -> None:
        user_id = users.pop(sid, None)
        expired = deadlines.closed(sid)
        if user_id is None:
            return
        record_socket_disconnected()
        # One JSON line per disconnect: CloudWatch's AppSocketDisconnectSpike alarm counts these.
        cause = TOKEN_EXPIRED if expired else str(reason[0]) if reason else "unknown"
        log.info("socket disconnected", extra={"event": "socket.disconnect", "reason": cause})
        try:
            went_offline = await hub.presence.disconnected(user_id, sid)
        except (RedisError, OSError) as error:
            log.warning("presence not updated for a closed socket: %s", error)
            return
        if went_offline:
            hub.announce(user_id, offline=True)

    @sio.on("message:send")
    async def message_send(sid: str, data: Any = None) -> dict[str, Any]:
        user_id = users.get(sid)
        if user_id is None:
            return _failure(RelayError("unauthorized", "socket is not authenticated", 401))
        try:
            request = SendIn.model_validate(data)
        except ValidationError as error:
            return _failure(RelayError("invalid_request", str(error.errors()[0].get("msg")), 422))
        decision = await runtime.rate_limiter.hit_message(user_id)  # 10/s, bursts of 20 (DESIGN §4)
        if not decision.allowed:
            return _failure(RelayError("rate_limited", rate_limited_message(decision), 429))
        deadline = runtime.settings.database_deadline_seconds  # before the client's 10 s ack timeout
        try:
            async with asyncio.timeout(deadline), runtime.sessions() as session:
                message, created, lost = await messages.post_message(
                    session,
                    runtime.message_writer,
                    user_id,
                    request.channel_id,
                    body=request.body,
                    client_msg_id=request.client_msg_id,
                    parent_id=request.parent_id,
                    max_chars=runtime.settings.max_message_chars,
                    storage=runtime.storage,
                    attachment_ids=request.attachment_ids,
                )
        except RelayError as error:
            return _failure(error)
        except UNAVAILABLE_ERRORS as error:
            if not database_unavailable(error):
                raise
            # Timed out: the write may still commit; the retry (same client_msg_id) gets the original.
            log.warning("message:send refused: the database is unreachable: %s", type(error).__name__)
            retry = "messages cannot be stored right now; retry with the same client_msg_id"
            return _failure(RelayError("unavailable", retry, 503))
        if created:
            await hub.message_created(message, lost_attachments=lost)
        return {"ok": True, "message": message}

    @sio.on("typing")
    async def typing(sid: str, data: Any = None) -> None:
        user_id = users.get(sid)
        try:
            request = TypingIn.model_validate(data)
        except ValidationError:
            return
        room = channel_room(request.channel_id)
        if user_id is None or room not in sio.rooms(sid):
            return
        # 3/s per user and channel (DESIGN §4): the surplus is dropped before fan-out, unanswered.
        if not (await runtime.rate_limiter.hit_typing(user_id, request.channel_id)).allowed:
            return
        await sio.emit(
            "typing", {"channel_id": request.channel_id, "user_id": user_id}, room=room, skip_sid=sid
        )

    @sio.on("auth:refresh")
    async def auth_refresh(sid: str, data: Any = None) -> dict[str, Any]:
        """Swap in a fresh session token for the same user; the socket then lives until its exp."""
        user_id = users.get(sid)
        if user_id is None:
            return _failure(RelayError("unauthorized", "socket is not authenticated", 401))
        try:
            request = RefreshIn.model_validate(data)
        except ValidationError:
            return _failure(RelayError("invalid_request", "auth:refresh takes {token: string}", 422))
        decision = await runtime.rate_limiter.hit_user_api(user_id)  # a refresh costs an API call
        if not decision.allowed:
            return _failure(RelayError("rate_limited", rate_limited_message(decision), 429))
        try:
            identity = await runtime.verifier.verify(request.token)
        except AuthError as error:
            return _failure(RelayError("unauthorized", error.reason, 401))
        if identity.user_id != user_id:
            return _failure(RelayError("forbidden", "the fresh token is for another user", 403))
        deadlines.schedule(sid, identity.expires_at)
        return {"ok": True, "exp": int(identity.expires_at)}
