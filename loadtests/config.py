"""The load-test population from `config.yaml` (or LOADTEST_CONFIG): weights, think times, channel
sizes. Read once per process; a wrong key stops the run with the key's name."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("config.yaml")
TRANSPORTS = ("websocket", "polling")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ChannelSize:
    members: int
    weight: int


@dataclass(frozen=True)
class ChatConfig:
    transport: str
    writer_share: float
    messages_per_minute: float
    body_chars: int
    reader_tick_seconds: float
    ack_timeout_seconds: float
    delivery_timeout_seconds: float
    gap_grace_seconds: float
    reconnect_delay_seconds: float
    reconnect_delay_max_seconds: float
    channel_sizes: tuple[ChannelSize, ...]


@dataclass(frozen=True)
class ApiConfig:
    wait_seconds: tuple[float, float]
    history_page: int
    search_words: tuple[str, ...]
    tasks: dict[str, int]


@dataclass(frozen=True)
class UploadConfig:
    wait_seconds: tuple[float, float]
    size_bytes: int
    content_type: str


@dataclass(frozen=True)
class LoadConfig:
    path: Path
    weights: dict[str, int]
    chat: ChatConfig
    api: ApiConfig
    uploads: UploadConfig


def _section(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: `{key}` must be a mapping (see loadtests/config.yaml)")
    return value


def _build(kind: type, values: dict[str, Any], where: str) -> Any:
    try:
        return kind(**values)
    except TypeError as error:
        raise ConfigError(f"{where}: {error}; compare loadtests/config.yaml") from None


def parse(raw: dict[str, Any], path: Path, environ: Mapping[str, str] = os.environ) -> LoadConfig:
    chat = dict(_section(raw, "chat", path))
    chat["transport"] = environ.get("LOADTEST_TRANSPORT") or chat.get("transport")
    if chat["transport"] not in TRANSPORTS:
        raise ConfigError(f"{path}: chat.transport (or LOADTEST_TRANSPORT) must be one of {TRANSPORTS}")
    chat["channel_sizes"] = tuple(
        _build(ChannelSize, size, f"{path}: chat.channel_sizes") for size in chat.get("channel_sizes", [])
    )
    if not chat["channel_sizes"] or any(s.members < 2 or s.weight < 1 for s in chat["channel_sizes"]):
        raise ConfigError(f"{path}: chat.channel_sizes needs entries with members >= 2 and weight >= 1")
    if not 0 <= chat.get("writer_share", -1) <= 1:
        raise ConfigError(f"{path}: chat.writer_share must be between 0 and 1")
    api = dict(_section(raw, "api", path))
    api["wait_seconds"], api["search_words"] = (
        tuple(api.get("wait_seconds", ())),
        tuple(api.get("search_words", ())),
    )
    uploads = dict(_section(raw, "uploads", path))
    uploads["wait_seconds"] = tuple(uploads.get("wait_seconds", ()))
    return LoadConfig(
        path=path,
        weights=dict(_section(raw, "weights", path)),
        chat=_build(ChatConfig, chat, f"{path}: chat"),
        api=_build(ApiConfig, api, f"{path}: api"),
        uploads=_build(UploadConfig, uploads, f"{path}: uploads"),
    )


@cache
def load() -> LoadConfig:
    path = Path(os.environ.get("LOADTEST_CONFIG") or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"LOADTEST_CONFIG={path} does not exist") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a YAML mapping (see loadtests/config.yaml)")
    return parse(raw, path)
