"""Settings from the environment, one section per concern (see .env.example)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/navigator.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, description="empty: run the sandbox")
    telegram_api_base: str | None = Field(
        default=None, description="Bot API server other than Telegram's, e.g. the local emulator"
    )
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = Field(default=None, description="Redis FSM storage for scale-out")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "ru"
    # Fernet key (urlsafe base64, 32 bytes) for СНИЛС at rest; the sandbox derives a local one.
    snils_key: SecretStr | None = None
    webhook_url: str | None = Field(default=None, description="public URL: run in webhook mode")
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8081
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8080
    log_level: str = "INFO"
    # Messages a second the bot may send overall (Telegram: 30; up to 1000 with paid broadcasts).
    delivery_rate: float = Field(default=30.0, gt=0, le=1000)
    # The regional navigator's gateway (NAVIGATOR_CONTRACT.md; empty: no sync, demo data).
    navigator_url: str | None = Field(default=None, description="base URL of the gateway")
    navigator_token: SecretStr | None = None
    navigator_callback_secret: SecretStr | None = None
    navigator_pull_seconds: float = 300
    sandbox_navigator: bool = Field(
        default=False, description="the sandbox runs the reference navigator gateway and syncs"
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value
