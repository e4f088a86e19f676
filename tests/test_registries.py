"""Every notification kind storage queues has a text, and every refusal storage raises reads as
words: checked against the code itself (the kinds list and the raise sites), so a new kind or
code without its text fails here rather than in a parent's chat."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from handlers import load_texts
from handlers.notifications import KEYBOARDS, RENDERERS, keyboard, render
from handlers.refusals import REFUSALS
from storage.notifications import NoticeKind

ROOT = Path(__file__).resolve().parent.parent
# Raised only where the caller has already checked (money movements are validated first); a
# parent never sees them, and handlers treat an unknown code with the generic refusal.
INTERNAL_CODES = {"charge_exceeds_reserve"}
ERROR_CLASSES = {"DomainError": None, "NotFound": "not_found", "Forbidden": "forbidden"}


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


def _raised_codes() -> dict[str, str]:
    """code → where it is raised, for every ``DomainError("code", …)``/``NotFound``/``Forbidden``
    in storage/."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "storage").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in ERROR_CLASSES:
                continue
            code = ERROR_CLASSES[node.func.id]
            if code is None and node.args and isinstance(node.args[0], ast.Constant):
                code = str(node.args[0].value)
            if code is not None:
                found.setdefault(code, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _sample_params(kind: NoticeKind) -> dict[str, object]:
    """Parameters of the shape storage enqueues for ``kind`` (see its enqueue call)."""
    when = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).isoformat()
    common: dict[str, object] = {"enrollment_id": 5, "program_title": "Робототехника"}
    return {
        NoticeKind.enrollment_status: {**common, "group_name": "Группа 1", "status": "confirmed"},
        NoticeKind.enrollment_offer: {**common, "group_name": "Группа 1", "expires_at": when},
        NoticeKind.enrollment_window_open: {
            "program_id": 1,
            "program_title": "Робототехника",
            "group_id": 2,
            "group_name": "Группа 1",
            "closes_on": date(2026, 12, 1).isoformat(),
        },
        NoticeKind.money_movement: {
            "certificate_number": "42-0000000018",
            "kind": "reserve",
            "amount_kopecks": 450_000,
            "program_title": "Робототехника",
            "reason": "enrollment_confirmed",
            "balance_kopecks": 1_000_000,
        },
        NoticeKind.certificate_approved: {
            "application_id": 3,
            "certificate_id": 4,
            "child_name": "Маша",
            "number": "42-0000000018",
            "status": "funded",
            "nominal_kopecks": 1_500_000,
            "period_start": date(2026, 1, 1).isoformat(),
            "period_end": date(2026, 12, 31).isoformat(),
        },
        NoticeKind.certificate_rejected: {"application_id": 3, "child_name": "Маша", "reason": "x"},
        NoticeKind.certificate_downgraded: {
            "certificate_id": 4,
            "number": "42-0000000018",
            "days": 90,
            "expired_kopecks": 100,
        },
        NoticeKind.role_changed: {"role": "staff", "municipality": "город Кемерово"},
        NoticeKind.class_reminder: {
            "when": "tomorrow",
            "day": date(2026, 11, 24).isoformat(),
            "timing": "evening",
            "classes": [
                {"enrollment_id": 5, "title": "Робототехника", "time": "16:30", "child": "Иван"}
            ],
        },
        NoticeKind.documents_due: {**common, "due": date(2026, 11, 24).isoformat()},
        NoticeKind.offer_half_time: {**common, "expires_at": when},
        NoticeKind.certificate_unused: {
            "certificate_id": 3,
            "deadline": when,
            "number": "42-0000000018",
            "tz": "Asia/Novokuznetsk",
        },
        NoticeKind.announcement: {"html": "<b>Новости</b>", "b": 7},
        NoticeKind.event_reminder: {
            "e": 3,
            "title": "Ёлка",
            "when": "day",
            "starts_at": when,
            "tz": "Asia/Novokuznetsk",
            "online": True,
        },
        NoticeKind.complaint_filed: {"complaint_id": 9},
        NoticeKind.complaint_escalated: {"complaint_id": 9},
        NoticeKind.complaint_answered: {
            "complaint_id": 9,
            "program_title": "Робототехника",
            "text": "Проверили",
        },
        NoticeKind.complaint_resolved: {"complaint_id": 9, "program_title": "Робототехника"},
        NoticeKind.overdue_staff: {"municipality": "город Кемерово", "norm": 5, "count": 2},
        NoticeKind.overdue_admin: {"count": 2},
        NoticeKind.navigator_withdrawn: {**common, "group_name": "Группа 1"},
        NoticeKind.navigator_sync_failing: {"error": "timeout", "since": when},
        NoticeKind.indicator_report: {
            "municipality_id": 1,
            "municipality": "город Кемерово",
            "on": date(2026, 12, 1).isoformat(),
            "children": None,
            "figures": {
                name: {"count": 10, "percent": "12.5", "previous": "11.0", "target": "20.0"}
                for name in ("coverage", "tech_science", "funded")
            },
        },
        NoticeKind.family_joined: {"child_id": 1, "name": "Маша Петрова"},
        NoticeKind.family_left: {"name": "Маша"},
        NoticeKind.feedback_ask: {
            "enrollment_id": 7,
            "program_title": "Робототехника",
            "child": "Маша",
        },
        NoticeKind.event_changed: {
            "e": 3,
            "title": "Ёлка",
            "change": "cancelled",
            "starts_at": when,
            "tz": "Asia/Novokuznetsk",
        },
    }[kind]


def test_every_notice_kind_has_a_renderer_and_nothing_else_is_registered(i18n: I18n) -> None:
    load_texts()
    # Test modules may register throwaway kinds of their own, always named test_*.
    production = {kind for kind in RENDERERS if not kind.startswith("test_")}
    assert production == set(NoticeKind)
    assert {kind for kind in KEYBOARDS if not kind.startswith("test_")} <= set(NoticeKind)
    for locale in ("ru", "en"):
        with i18n.context(), i18n.use_locale(locale):
            for kind in NoticeKind:
                text = render(kind, _sample_params(kind))
                assert text and text.strip(), (locale, kind)
                markup = keyboard(kind, _sample_params(kind))
                assert markup is not None and markup.inline_keyboard, (locale, kind)


def test_the_raise_site_scan_sees_storage_codes() -> None:
    raised = _raised_codes()
    assert {"not_found", "forbidden", "enroll_balance", "certificate_age"} <= set(raised)


def test_every_refusal_storage_raises_has_a_text() -> None:
    load_texts()
    raised = _raised_codes()
    missing = {code: where for code, where in raised.items() if code not in REFUSALS}
    assert {c: w for c, w in missing.items() if c not in INTERNAL_CODES} == {}
    assert set(raised) >= INTERNAL_CODES  # still raised, so still worth the exemption
