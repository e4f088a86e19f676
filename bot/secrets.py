"""Secrets a production start needs, and the ``python -m bot snils …`` commands.

Only the sandbox and the tests may run on the key derived from the source code: with it,
anyone holding the database and the repository could read every stored СНИЛС.
"""

from __future__ import annotations

import re

from cryptography.fernet import Fernet

from bot.config import Settings
from storage.crypto import SnilsCipher, new_key
from storage.db import create_engine, create_session_factory
from storage.snils_rotation import RotationReport, rotate_snils

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
MISSING_KEY = (
    "refusing to start: BOT_TOKEN is set but SNILS_KEY is not.\n"
    "СНИЛС is stored encrypted; without a key of your own it would be encrypted with the "
    "sandbox key that is in the source code.\n"
    "Make a key and keep it secret (and backed up: without it stored СНИЛС cannot be read):\n"
    "    python -m bot snils new-key\n"
    "then put it into the environment or .env as SNILS_KEY=<key>."
)


def production_secrets_problem(settings: Settings) -> str | None:
    """Why this configuration must not serve real users, or None when it may."""
    if settings.bot_token is None:
        return None  # the sandbox
    keys = settings.snils_key_list()
    if not keys:
        return MISSING_KEY
    if settings.webhook_url and not _good_webhook_secret(settings):
        return (
            "refusing to start: WEBHOOK_URL is set but WEBHOOK_SECRET is missing or not 1–256 "
            "of A-Z a-z 0-9 _ -; without it anyone could post forged updates. Make one with:\n"
            '    python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            return (
                f"refusing to start: SNILS key #{position} is not a Fernet key "
                "(32 bytes, urlsafe base64). Make one with: python -m bot snils new-key"
            )
    return None


def _good_webhook_secret(settings: Settings) -> bool:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    return bool(_SECRET_TOKEN.fullmatch(secret))


def require_production_secrets(settings: Settings) -> None:
    problem = production_secrets_problem(settings)
    if problem is not None:
        raise SystemExit(problem)


def make_key() -> str:
    return new_key()


async def rotate(settings: Settings, batch: int) -> RotationReport:
    """Re-encrypt every stored СНИЛС under the newest of SNILS_KEYS (resumable)."""
    keys = settings.snils_key_list()
    if not keys:
        raise SystemExit("SNILS_KEYS (newest first) or SNILS_KEY must be set to rotate")
    engine = create_engine(settings.database_url)
    try:
        return await rotate_snils(
            create_session_factory(engine), SnilsCipher.from_keys(keys), batch=batch
        )
    finally:
        await engine.dispose()
