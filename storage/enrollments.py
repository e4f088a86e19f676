"""Enrollment: the certificate check, seats, money holds, waiting list."""

from __future__ import annotations

from storage.repo import Repo


class EnrollmentRepo(Repo):
    pass
