"""Who may do what: one table for every command, button and municipal parameter.

``RIGHTS`` is the single source: docs/ARCHITECTURE.md shows it (``rights_markdown``, a test
keeps the two equal), tests/test_rights.py tries every cell through the bot, and storage
enforces it — the repositories' own role and scope checks (``moderation_scope``,
``require_admin``) for the rows that existed before the table, ``require_right`` for the
municipal financing parameters, which staff may see but only administrators change
(DESIGN.md §2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from storage.errors import DomainError, Forbidden
from storage.models import Role, User


class Access(StrEnum):
    yes = "yes"  # anywhere
    own = "own municipality"  # staff: objects of the municipality they serve
    see = "see only"  # shown, not changed
    no = "no"


@dataclass(frozen=True)
class Right:
    key: str  # stable id, used by storage checks and the test's probes
    kind: str  # "command", "button", "parameter"
    subject: str  # what the person types or presses
    parent: Access
    staff: Access
    admin: Access

    def access(self, role: Role | str) -> Access:
        return {Role.parent: self.parent, Role.staff: self.staff, Role.admin: self.admin}[
            Role(role)
        ]


Y, OWN, SEE, NO = Access.yes, Access.own, Access.see, Access.no
# Staff and administrators are parents too: the family commands work for everyone.
_FAMILY = ("/start", "/menu", "/catalog", "/search", "/near", "/children", "/certificate",
           "/enrollments", "/language", "/privacy", "/settings", "/help")  # fmt: skip
# The municipal financing parameters (storage.municipalities.PARAMETERS), as typed after
# /municipality N.
MUNICIPAL_PARAMETERS = {
    "financing_enabled": "financing=on|off",
    "funded_quota": "quota=N",
    "nominal_kopecks": "nominal=₽",
    "period_start": "period_start=DD.MM.YYYY",
    "period_months": "months=N",
    "budget_program_limit": "limit=N",
    "unused_funded_days": "unused_days=N",
    "documents_days": "documents_days=N",
    "waitlist_offer_hours": "waitlist_hours=N",
}

RIGHTS: tuple[Right, ...] = (
    *(Right(f"cmd{name.replace('/', '.')}", "command", name, Y, Y, Y) for name in _FAMILY),
    Right("cmd.queue", "command", "/queue", NO, OWN, Y),
    Right("cmd.approve", "command", "/approve N", NO, OWN, Y),
    Right("cmd.reject", "command", "/reject N reason", NO, OWN, Y),
    Right("cmd.queue_enrollments", "command", "/queue_enrollments", NO, OWN, Y),
    Right("cmd.confirm", "command", "/confirm N", NO, OWN, Y),
    Right("cmd.activate", "command", "/activate N", NO, OWN, Y),
    Right("cmd.finish", "command", "/finish N", NO, OWN, Y),
    Right("cmd.reject_enrollment", "command", "/reject_enrollment N reason", NO, OWN, Y),
    Right("cmd.municipality", "command", "/municipality [N]", NO, OWN, Y),
    Right("cmd.broadcast", "command", "/broadcast", NO, OWN, Y),
    Right("cmd.event", "command", "/event", NO, OWN, Y),
    Right("cmd.broadcast_report", "command", "/broadcast_report [from to]", NO, OWN, Y),
    Right("cmd.stats", "command", "/stats [DD.MM.YYYY]", NO, OWN, Y),
    Right("cmd.complaints", "command", "/complaints", NO, OWN, Y),
    Right("cmd.role", "command", "/role ID parent|staff|admin [M]", NO, NO, Y),
    Right("cmd.audit", "command", "/audit", NO, NO, Y),
    Right("cmd.sync", "command", "/sync", NO, NO, Y),
    Right("cmd.misses", "command", "/misses", NO, NO, Y),
    Right("btn.application_card", "button", "application № (queue)", NO, OWN, Y),
    Right("btn.application_approve", "button", "✅ Одобрить (application)", NO, OWN, Y),
    Right("btn.application_reject", "button", "❌ Отклонить (application)", NO, OWN, Y),
    Right("btn.enrollment_card", "button", "enrollment (queue)", NO, OWN, Y),
    Right("btn.enrollment_confirm", "button", "✅ Подтвердить (enrollment)", NO, OWN, Y),
    Right("btn.enrollment_reject", "button", "❌ Отклонить (enrollment)", NO, OWN, Y),
    Right("btn.complaint_card", "button", "complaint № (/complaints)", NO, OWN, Y),
    Right("btn.complaint_answer", "button", "✍️ Ответить (complaint)", NO, OWN, Y),
    Right("btn.complaint_resolve", "button", "✅ Решено (complaint)", NO, OWN, Y),
    # Handing over is staff's way up; administrators are the top (they answer or resolve).
    Right("btn.complaint_escalate", "button", "⬆️ Администраторам (complaint)", NO, OWN, NO),
    Right("btn.news_off", "button", "🔕 Не получать новости МОЦ (announcement)", Y, Y, Y),
    *(
        Right(f"param.{key}", "parameter", typed, NO, SEE, Y)
        for key, typed in MUNICIPAL_PARAMETERS.items()
    ),
)
BY_KEY = {right.key: right for right in RIGHTS}


def require_right(actor: User, key: str) -> None:
    """Refuse unless the actor's role may change what ``key`` names (``own`` leaves the
    municipality check to the caller's scope). Staff who may only see get ``admin_only``."""
    access = BY_KEY[key].access(actor.role)
    if access in (Access.yes, Access.own):
        return
    if access is Access.see:
        raise DomainError("admin_only")
    raise Forbidden(key)


def require_parameter_change(actor: User, keys: Iterable[str]) -> None:
    """Municipal financing parameters: administrators change them, staff only see them."""
    for key in keys:
        if f"param.{key}" in BY_KEY:  # an unknown key is refused by the parameter check
            require_right(actor, f"param.{key}")


def rights_markdown() -> str:
    """The table as it stands in docs/ARCHITECTURE.md."""
    lines = ["| kind | command, button or parameter | parent | staff | administrator |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for right in RIGHTS:
        subject = right.subject.replace("|", "\\|")
        lines.append(
            f"| {right.kind} | `{subject}` | {right.parent} | {right.staff} | {right.admin} |"
        )
    return "\n".join(lines)
