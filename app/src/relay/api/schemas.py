"""Request and response models: the JSON shapes of DESIGN §4a."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Postgres text cannot hold NUL: refusing it in the schema makes it a 422 (documented), not a 500.
NO_NUL = r"^[^\x00]*$"


def bounded_text(max_length: int, min_length: int = 0) -> type[str]:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)]


# Ids are server-generated hex strings or token subjects; bounding them keeps lookups cheap.
UserId = bounded_text(255, 1)
ObjectId = bounded_text(32, 1)
ClientMsgId = bounded_text(64, 1)
ChannelIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]
MessageIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]
Status = Literal["online", "away", "dnd"]
Presence = Literal["online", "away", "dnd", "offline"]


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class UserOut(Model):
    id: str
    name: str
    status: Presence


class MeOut(Model):
    id: str
    name: str
    status: Status
    text: str | None
    emoji: str | None


class StatusIn(Model):
    status: Status
    text: bounded_text(255) | None = None
    emoji: bounded_text(64) | None = None


class UserList(Model):
    users: list[UserOut]


class ChannelIn(Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")]
    private: bool = False


class ChannelOut(Model):
    id: str
    name: str
    private: bool
    kind: Literal["channel", "dm"]
    unread: int = 0


class ChannelList(Model):
    channels: list[ChannelOut]


class MemberIn(Model):
    user_id: UserId


class DmIn(Model):
    user_ids: list[UserId] = Field(min_length=1, max_length=64)


class MessageIn(Model):
    # The length limit is a setting (RELAY_MAX_MESSAGE_CHARS): services.messages checks it and says so.
    body: bounded_text(1_000_000)
    client_msg_id: ClientMsgId
    parent_id: ObjectId | None = None
    attachment_ids: list[ObjectId] = Field(default_factory=list, max_length=10)


class MessageEdit(Model):
    body: bounded_text(1_000_000)


class MessageOut(Model):
    id: str
    channel_id: str
    seq: int
    author_id: str
    body: str
    client_msg_id: str
    parent_id: str | None
    attachments: list[dict] = Field(default_factory=list)
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


class MessagePage(Model):
    messages: list[MessageOut]


UploadIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=NO_NUL)]
UploadStatus = Literal["pending", "ready", "rejected"]


class UploadIn(Model):
    # Sanitised by the service (path segments, control characters); the type and size limits are
    # settings (RELAY_UPLOAD_TYPES), checked there with a message naming the limit.
    filename: bounded_text(1024, 1)
    content_type: Annotated[
        str, StringConstraints(min_length=3, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")
    ]
    size: int = Field(ge=1, le=2**40)


class PresignedPost(Model):
    id: str
    url: str
    fields: dict[str, str]


class UploadOut(Model):
    id: str
    status: UploadStatus
    reason: str | None
    filename: str
    content_type: str
    size: int
    url: str | None


class SearchResult(Model):
    message: MessageOut
    snippet: str


class SearchPage(Model):
    results: list[SearchResult]
    next_cursor: str | None


NotificationKind = Literal["message", "mention", "reply", "dm", "upload", "error"]
Level = Literal["all", "mentions", "none"]


class NotificationOut(Model):
    id: str
    kind: NotificationKind
    channel_id: str | None
    message_id: str | None
    text: str
    created_at: datetime
    read: bool


class NotificationList(Model):
    notifications: list[NotificationOut]
    unread: int


class ReadIn(Model):
    ids: list[ObjectId] = Field(min_length=1, max_length=500)


class UnreadOut(Model):
    unread: int


class ChannelPreference(Model):
    channel_id: ObjectId
    level: Level
    muted: bool = False


class NotificationPreferencesIO(Model):
    dm: bool = True
    mentions: bool = True
    sound: bool = True
    dnd: bool = False
    # Kinds still pushed live during do-not-disturb; everything is listed by REST either way.
    dnd_allow: list[NotificationKind] = Field(default_factory=list, max_length=6)
    # PUT changes only the channels listed; GET lists every channel of the caller.
    channels: list[ChannelPreference] = Field(default_factory=list, max_length=1000)


class ClientErrorIn(Model):
    # Bounds keep one report cheap to accept and to log; the log line truncates further.
    message: bounded_text(2000, 1)
    stack: bounded_text(20_000) | None = None
    url: bounded_text(2048, 1)
    user_agent: bounded_text(512)


class Accepted(Model):
    status: Literal["accepted"] = "accepted"
