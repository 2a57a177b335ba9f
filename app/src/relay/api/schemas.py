"""Request and response models: the JSON shapes of DESIGN §4a."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Ids are server-generated hex strings or token subjects; bounding them keeps lookups cheap.
Id = Field(min_length=1, max_length=255)
ClientMsgId = Field(min_length=1, max_length=64)
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
    text: str | None = Field(default=None, max_length=255)
    emoji: str | None = Field(default=None, max_length=64)


class UserList(Model):
    users: list[UserOut]


class ChannelIn(Model):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")
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
    user_id: str = Id


class DmIn(Model):
    user_ids: list[str] = Field(min_length=1, max_length=64)


class MessageIn(Model):
    # The length limit is a setting (RELAY_MAX_MESSAGE_CHARS): services.messages checks it and says so.
    body: str
    client_msg_id: str = ClientMsgId
    parent_id: str | None = Field(default=None, max_length=32)
    attachment_ids: list[str] = Field(default_factory=list, max_length=10)


class MessageEdit(Model):
    body: str


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
