"""Certificate applications, issuance, money and the downgrade rule."""

from __future__ import annotations

from storage.repo import Repo


class CertificateRepo(Repo):
    pass
