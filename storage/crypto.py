"""СНИЛС at rest: Fernet encryption plus a keyed digest for the one-certificate-per-child check.

The digest lets the database find a duplicate СНИЛС without ever holding it in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from pydantic import SecretStr

# Used only when no SNILS_KEY is configured (sandbox, tests); production sets its own key.
_DEV_KEY_SEED = b"family-navigator-sandbox-only-key"


class SnilsCipher:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._digest_key = hashlib.sha256(b"digest:" + key).digest()

    @classmethod
    def from_settings(cls, key: SecretStr | None) -> SnilsCipher:
        if key is None:
            raw = base64.urlsafe_b64encode(hashlib.sha256(_DEV_KEY_SEED).digest())
            return cls(raw)
        return cls(key.get_secret_value().encode())

    def encrypt(self, digits: str) -> str:
        return self._fernet.encrypt(digits.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def digest(self, digits: str) -> str:
        return hmac.new(self._digest_key, digits.encode(), hashlib.sha256).hexdigest()
