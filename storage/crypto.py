"""СНИЛС at rest: Fernet encryption plus a keyed digest for the one-certificate-per-child check.

The digest lets the database find a duplicate СНИЛС without ever holding it in clear text.

Keys rotate (``SNILS_KEYS``, newest first): new values are encrypted with the newest key and
MultiFernet reads values under any listed key. The digest is keyed by the newest key too — a
retired key must stop protecting anything, and a digest of an 11-digit number is brute-forced
by whoever holds its key — so a lookup compares against the digests under every listed key
(``digests``) and ``storage.snils_rotation`` rewrites both the token and the digest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

# Used only when no SNILS_KEY is configured (sandbox, tests); production refuses to start
# without its own key (bot.secrets).
_DEV_KEY_SEED = b"family-navigator-sandbox-only-key"
DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(_DEV_KEY_SEED).digest())


def new_key() -> str:
    """A fresh Fernet key (urlsafe base64 of 32 random bytes), for SNILS_KEY."""
    return Fernet.generate_key().decode()


def _digest_key(key: bytes) -> bytes:
    return hashlib.sha256(b"digest:" + key).digest()


class SnilsCipher:
    def __init__(self, key: bytes, *older: bytes) -> None:
        keys = [key, *older]
        self._primary = Fernet(key)
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._digest_keys = [_digest_key(k) for k in keys]

    @classmethod
    def from_settings(cls, key: SecretStr | None) -> SnilsCipher:
        return cls.from_keys([key] if key is not None else [])

    @classmethod
    def from_keys(cls, keys: Sequence[SecretStr | str]) -> SnilsCipher:
        """Newest first; an empty list means the sandbox's derived key (never in production)."""
        raw = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in keys]
        encoded = [k.strip().encode() for k in raw if k.strip()]
        if not encoded:
            return cls(DEV_KEY)
        return cls(*encoded)

    @property
    def key_count(self) -> int:
        return len(self._digest_keys)

    def encrypt(self, digits: str) -> str:
        return self._fernet.encrypt(digits.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already under the newest key (rotation skips it)."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same value re-encrypted under the newest key."""
        return self._fernet.rotate(token.encode()).decode()

    def digest(self, digits: str) -> str:
        """The digest to store: under the newest key."""
        return hmac.new(self._digest_keys[0], digits.encode(), hashlib.sha256).hexdigest()

    def digests(self, digits: str) -> list[str]:
        """The digests under every listed key, for lookups while a rotation is under way."""
        return [hmac.new(k, digits.encode(), hashlib.sha256).hexdigest() for k in self._digest_keys]
