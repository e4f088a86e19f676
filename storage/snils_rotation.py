"""Re-encrypting stored СНИЛС under the newest key (``python -m bot snils rotate``).

Batches of rows in id order, one transaction each: an interrupted run loses at most one batch of
work and the next run picks up where it stopped, since rows already under the newest key (token
and digest) are skipped. Nothing is decrypted outside this loop and nothing is logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import SnilsCipher
from storage.models import Certificate, CertificateApplication

ROTATED_TABLES = (CertificateApplication, Certificate)


@dataclass
class RotationReport:
    checked: int = 0
    rewritten: int = 0

    def __str__(self) -> str:
        return f"checked {self.checked} stored СНИЛС, re-encrypted {self.rewritten}"


async def rotate_snils(
    sessionmaker: async_sessionmaker[AsyncSession], cipher: SnilsCipher, *, batch: int = 500
) -> RotationReport:
    report = RotationReport()
    for model in ROTATED_TABLES:
        last_id = 0
        while True:
            async with sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(model.id, model.snils_encrypted, model.snils_digest)
                        .where(model.id > last_id, model.snils_encrypted.is_not(None))
                        .order_by(model.id)
                        .limit(batch)
                    )
                ).all()
                if not rows:
                    break
                for row_id, token, digest in rows:
                    report.checked += 1
                    digits = cipher.decrypt(token)
                    fresh_digest = cipher.digest(digits)
                    if cipher.is_current(token) and digest == fresh_digest:
                        continue
                    await session.execute(
                        update(model)
                        .where(model.id == row_id)
                        .values(snils_encrypted=cipher.rotate(token), snils_digest=fresh_digest)
                    )
                    report.rewritten += 1
                await session.commit()
                last_id = rows[-1][0]
    return report
