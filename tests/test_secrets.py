"""Secrets: no production start on the sandbox key; СНИЛС key rotation keeps every rule working."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.secrets import production_secrets_problem
from storage import Storage
from storage.crypto import SnilsCipher, new_key
from storage.errors import DomainError
from storage.models import Certificate, CertificateApplication, Role
from storage.snils_rotation import rotate_snils
from tests.support.certificates import make_child, make_municipality, make_user, snils_for

ROOT = Path(__file__).resolve().parent.parent


async def _cli(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SNILS_", "BOT_TOKEN"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,  # no .env there
        env={**clean, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    # Generous: importing aiogram alone took over 20 s on a 2-core machine at load 7.
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=180)
    return proc.returncode or 0, out.decode()


async def test_a_production_start_without_a_key_refuses_and_says_how(tmp_path: Path) -> None:
    code, out = await _cli(
        "run", cwd=tmp_path, BOT_TOKEN="123:abc", DATABASE_URL="sqlite+aiosqlite:///x.db"
    )
    assert code != 0
    assert "SNILS_KEY" in out and "python -m bot snils new-key" in out
    assert not (tmp_path / "x.db").exists(), "refused before touching the database"


async def test_new_key_prints_a_fernet_key(tmp_path: Path) -> None:
    code, out = await _cli("snils", "new-key", cwd=tmp_path)
    assert code == 0
    Fernet(out.strip().encode())  # raises on anything but a key


def test_the_check_allows_the_sandbox_and_a_real_key_only() -> None:
    def settings(**values: object) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    assert production_secrets_problem(settings()) is None  # no token: the sandbox
    assert "SNILS_KEY" in (production_secrets_problem(settings(bot_token="1:a")) or "")
    bad = settings(bot_token="1:a", snils_key="not-a-key")
    assert "not a Fernet key" in (production_secrets_problem(bad) or "")
    good = settings(bot_token="1:a", snils_keys=f"{new_key()}, {new_key()}")
    assert production_secrets_problem(good) is None
    assert len(good.snils_key_list()) == 2


async def test_rotation_re_encrypts_resumably_and_the_digest_rule_holds(
    store: Storage, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    old_key, new = new_key(), new_key()
    old = SnilsCipher.from_keys([old_key])
    municipality = await make_municipality(store.session, quota=5)
    parent = await make_user(store.session, 1001, municipality_id=municipality.id)
    other = await make_user(store.session, 1002, municipality_id=municipality.id)
    admin = await make_user(store.session, 9000, role=Role.admin)
    apps = []
    for n in range(1, 4):
        child = await make_child(store.session, parent, age=8, name=f"Ребёнок{'абв'[n - 1]}")
        apps.append(
            await store.certificates.apply(parent, child.id, snils_for(n), municipality.id, old)
        )
    await store.certificates.approve(admin, apps[0].id)  # one certificate, two pending
    stranger_child = await make_child(store.session, other, age=8)

    both = SnilsCipher.from_keys([new, old_key])  # deployed: new key first, old still listed
    expected = {1: "certificate_exists_elsewhere", 2: "application_pending_elsewhere", 9: None}
    for n, code in expected.items():  # found under the old key's digests
        with pytest.raises(DomainError, match=code) if code else nullcontext():
            await store.certificates.check_snils_free(other, stranger_child.id, snils_for(n), both)

    report = await rotate_snils(sessionmaker, both, batch=2)  # batches smaller than the rows
    assert (report.checked, report.rewritten) == (4, 4)  # 3 applications + 1 certificate
    again = await rotate_snils(sessionmaker, both, batch=2)
    assert (again.checked, again.rewritten) == (4, 0), (
        "a second run (a resumed one) skips done rows"
    )

    only_new = SnilsCipher.from_keys([new])  # the old key retired
    async with sessionmaker() as session:
        for model in (CertificateApplication, Certificate):
            for token, digest in (
                await session.execute(select(model.snils_encrypted, model.snils_digest))
            ).all():
                digits = only_new.decrypt(token)
                assert digest == only_new.digest(digits)
                with pytest.raises(InvalidToken):
                    old.decrypt(token)
    with pytest.raises(DomainError) as refused:
        await store.certificates.check_snils_free(other, stranger_child.id, snils_for(1), only_new)
    assert refused.value.code == "certificate_exists_elsewhere"
