"""Settings from the environment, one section per concern (see .env.example)."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.delivery.quiet import DEFAULT_QUIET, QuietHours, parse_quiet_hours

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
    # Key rotation: several keys, newest first, comma-separated (wins over SNILS_KEY).
    snils_keys: SecretStr | None = None
    webhook_url: str | None = Field(default=None, description="public URL: run in webhook mode")
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8081
    # Whether this worker calls setWebhook at start (every worker may: the call is idempotent).
    webhook_register: bool = True
    # How long a worker holds an update it is handling before another may take it over.
    webhook_lease_seconds: float = Field(default=90.0, gt=0)
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8080
    log_level: str = "INFO"
    # Messages a second the bot may send overall (Telegram: 30; up to 1000 with paid broadcasts).
    delivery_rate: float = Field(default=30.0, gt=0, le=1000)
    # Quiet hours of parents who chose none, local time: "22-8", or "off" for none.
    quiet_hours: Annotated[QuietHours, NoDecode] = DEFAULT_QUIET
    # The regional navigator's gateway (NAVIGATOR_CONTRACT.md; empty: no sync, demo data).
    navigator_url: str | None = Field(default=None, description="base URL of the gateway")
    navigator_token: SecretStr | None = None
    navigator_callback_secret: SecretStr | None = None
    navigator_pull_seconds: float = 300
    sandbox_navigator: bool = Field(
        default=False, description="the sandbox runs the reference navigator gateway and syncs"
    )
    # Days ("MM-DD", region time) the indicator report reaches each municipality's staff.
    indicator_report_days: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["06-01", "12-01"]
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    def snils_key_list(self) -> list[str]:
        """The СНИЛС keys, newest first; empty when none is configured (sandbox, tests)."""
        for source in (self.snils_keys, self.snils_key):
            if source is not None:
                keys = [k.strip() for k in source.get_secret_value().split(",") if k.strip()]
                if keys:
                    return keys
        return []

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _parse_quiet(cls, value: object) -> object:
        return parse_quiet_hours(value) if isinstance(value, str) else value

    @field_validator("indicator_report_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        days = value
        if isinstance(value, str):
            days = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        for text in days if isinstance(days, list) else []:
            date.fromisoformat(f"2000-{text}")  # "06-01"; ValueError for "6-1" or "02-30"
        return days

    @cached_property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url.removeprefix(prefix))
        return None
