"""Municipalities and their personified-financing parameters."""

from __future__ import annotations

from storage.repo import Repo


class MunicipalityRepo(Repo):
    pass
