"""Service settings, read once from RELAY_* environment variables and validated at start-up."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", env_ignore_empty=True, extra="ignore")

    # No default: local mode is chosen explicitly (make up sets it).
    environment: Literal["local", "staging", "prod"]
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


def load_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # values come from the environment
