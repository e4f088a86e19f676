"""Domain vocabularies (DESIGN.md §3 glossary). Stored as plain strings: portable SQL."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    technical = "technical"
    natural_science = "natural_science"
    arts = "arts"
    social_humanitarian = "social_humanitarian"
    tourism_local_history = "tourism_local_history"
    sports = "sports"


class Level(StrEnum):
    intro = "intro"
    basic = "basic"
    advanced = "advanced"


class ProgramFormat(StrEnum):
    in_person = "in_person"
    distance = "distance"
    network = "network"


class Registry(StrEnum):
    certified = "certified"
    preprofessional = "preprofessional"
    significant = "significant"
    general = "general"

    @property
    def budget_funded(self) -> bool:
        return self is not Registry.certified


class ProviderKind(StrEnum):
    state = "state"
    municipal = "municipal"
    private = "private"
    entrepreneur = "entrepreneur"


class Role(StrEnum):
    parent = "parent"
    staff = "staff"
    admin = "admin"


class CertificateStatus(StrEnum):
    accounting = "accounting"
    funded = "funded"


class ApplicationStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class MovementKind(StrEnum):
    """Money movements on a certificate; each one is shown to the parent."""

    issue = "issue"  # nominal credited for a period
    reserve = "reserve"  # held by a confirmed enrollment
    release = "release"  # a hold given back (cancel, withdraw, reject)
    charge = "charge"  # a month of study paid from the reserve
    expire = "expire"  # funded → accounting, balance withdrawn


class EnrollmentStatus(StrEnum):
    submitted = "submitted"
    confirmed = "confirmed"
    active = "active"
    finished = "finished"
    withdrawn = "withdrawn"
    rejected = "rejected"
    cancelled = "cancelled"
    waitlisted = "waitlisted"
