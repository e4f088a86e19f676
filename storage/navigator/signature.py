"""Callback signatures (contract §3): ``sha256=<hex>`` of HMAC-SHA256(secret, "<ts>.<raw body>")."""

from __future__ import annotations

import hashlib
import hmac
import time

WINDOW_SECONDS = 300
PREFIX = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
) -> bool:
    """The signature matches and the timestamp is within 300 s of our clock (either way).
    Checked on the raw bytes, before anything is parsed."""
    if not secret or not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip())
