"""The enrollment rules without a database (storage/enrollments/rules.py): transitions, money
arithmetic and the checks, on plain values and transient rows. The same rules are exercised
through the database, under locks and races, in tests/test_enrollment_*.py."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.calendar import REGION_TZ
from storage.enrollments.rules import (
    CLOSING,
    LIVE,
    MONEY_REASONS,
    SEAT_HOLDING,
    TRANSITIONS,
    certificate_cost,
    check_certificate_kind,
    check_confirmable,
    check_fixed_rules,
    check_live_rules,
    ensure_transition,
    holds_seat,
    month_bounds,
    month_charge,
    monthly_amount,
    zone,
)
from storage.errors import DomainError
from storage.models import CertificateStatus, EnrollmentStatus, Group, Registry

Status = EnrollmentStatus
DAY = date(2026, 9, 10)


def _group(**changes: object) -> Group:
    values: dict[str, object] = {
        "id": 7,
        "starts_on": date(2026, 9, 15),
        "ends_on": date(2027, 5, 31),
        "age_min": 7,
        "age_max": 10,
        "enrollment_opens_on": date(2026, 9, 1),
        "enrollment_closes_on": date(2026, 9, 30),
    }
    values.update(changes)
    return Group(**values)  # transient: never added to a session


def _refusal(**changes: object) -> str | None:
    facts: dict[str, object] = {
        "child_id": 3,
        "birth_date": date(2018, 5, 1),  # 8 on the first lesson
        "registry": Registry.certified,
        "certificate_status": CertificateStatus.funded,
        "day": DAY,
    }
    group = _group(**changes.pop("group", {}))  # type: ignore[arg-type]
    facts.update(changes)
    try:
        check_fixed_rules(group, **facts)  # type: ignore[arg-type]
    except DomainError as refused:
        return refused.code
    return None


def test_final_statuses_go_nowhere_and_live_ones_can_always_be_left() -> None:
    assert set(TRANSITIONS) == set(Status)
    finals = {s for s, targets in TRANSITIONS.items() if not targets}
    assert finals == {Status.finished, Status.withdrawn, Status.rejected, Status.cancelled}
    assert finals.isdisjoint(LIVE)
    for status in LIVE:
        assert TRANSITIONS[status] & finals, status
    assert SEAT_HOLDING < LIVE


def test_an_illegal_transition_names_both_statuses() -> None:
    ensure_transition(Status.submitted, Status.confirmed)
    with pytest.raises(DomainError) as refused:
        ensure_transition(Status.finished, Status.active)
    assert refused.value.code == "enroll_transition"
    assert refused.value.params == {"current": "finished", "target": "active"}


def test_every_closing_status_has_a_money_reason_and_every_live_one_a_closing() -> None:
    assert set(CLOSING) == set(LIVE)
    for current, (target, _reason) in CLOSING.items():
        assert target in TRANSITIONS[current]
        assert target in MONEY_REASONS


def test_a_waiting_request_holds_a_seat_only_while_offered_one() -> None:
    assert holds_seat(Status.confirmed, offered=False)
    assert not holds_seat(Status.waitlisted, offered=False)
    assert holds_seat(Status.waitlisted, offered=True)
    assert not holds_seat(Status.cancelled, offered=False)


def test_only_certified_programs_cost_the_certificate() -> None:
    assert certificate_cost(Registry.certified, 45_000_00) == 45_000_00
    for registry in Registry:
        if registry is not Registry.certified:
            assert certificate_cost(registry, 45_000_00) == 0


@given(
    cost=st.integers(min_value=0, max_value=10**9),
    months=st.integers(min_value=1, max_value=24),
)
def test_the_monthly_charges_add_up_to_the_cost_exactly(cost: int, months: int) -> None:
    reserved, charged = cost, 0
    for month in range(months):
        amount = month_charge(
            cost,
            months,
            reserved_kopecks=reserved,
            certificate_reserved_kopecks=reserved,
            last_month=month == months - 1,
        )
        assert 0 <= amount <= reserved
        reserved -= amount
        charged += amount
    assert charged == cost and reserved == 0
    assert monthly_amount(cost, months) * months <= cost


def test_a_charge_never_takes_more_than_the_certificate_holds() -> None:
    amount = month_charge(
        9_000_00,
        9,
        reserved_kopecks=9_000_00,
        certificate_reserved_kopecks=250_00,
        last_month=False,
    )
    assert amount == 250_00


def test_the_fixed_rules_pass_for_a_fitting_child_in_an_open_window() -> None:
    assert _refusal() is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"group": {"ends_on": date(2026, 9, 9)}}, "enroll_group_ended"),
        ({"birth_date": date(2021, 1, 1)}, "enroll_age"),  # 5 on the first lesson
        ({"birth_date": date(2014, 1, 1)}, "enroll_age"),  # 12
        ({"day": date(2026, 8, 31)}, "enroll_window_not_open"),
        ({"day": date(2026, 10, 1)}, "enroll_window_closed"),
        ({"certificate_status": None}, "enroll_certificate_missing"),
        ({"certificate_status": CertificateStatus.accounting}, "enroll_needs_funded"),
    ],
)
def test_each_fixed_rule_refuses_with_its_code(changes: dict[str, object], code: str) -> None:
    assert _refusal(**changes) == code


def test_the_age_counts_on_the_first_lesson_not_today() -> None:
    # 7 on 15 Sept 2026 (the birthday is on the first lesson), 6 on the day of enrolling.
    assert _refusal(birth_date=date(2019, 9, 15)) is None
    assert _refusal(birth_date=date(2019, 9, 16)) == "enroll_age"


def test_an_accounting_certificate_enrolls_in_budget_programs() -> None:
    check_certificate_kind(Registry.general, CertificateStatus.accounting)
    assert _refusal(registry=Registry.general, certificate_status="accounting") is None


def test_the_live_rules_count_what_other_requests_promised() -> None:
    assert (
        check_live_rules(
            live_status=None, balance_kopecks=10_000, spoken_for_kopecks=4_000, cost_kopecks=6_000
        )
        == 6_000  # 10 000 on the certificate, 4 000 promised to another pending request
    )
    with pytest.raises(DomainError) as short:
        check_live_rules(
            live_status=None, balance_kopecks=10_000, spoken_for_kopecks=4_001, cost_kopecks=6_000
        )
    assert (short.value.code, short.value.params) == (
        "enroll_balance",
        {"needed": 6_000, "available": 5_999},
    )
    with pytest.raises(DomainError) as already:
        check_live_rules(
            live_status="confirmed", balance_kopecks=0, spoken_for_kopecks=0, cost_kopecks=0
        )
    assert already.value.params == {"status": "confirmed"}


def test_the_budget_limit_counts_held_seats() -> None:
    free = {"live_status": None, "balance_kopecks": 0, "spoken_for_kopecks": 0, "cost_kopecks": 0}
    assert check_live_rules(**free, budget_limit=2, budget_held=1) == 0  # type: ignore[arg-type]
    assert check_live_rules(**free, budget_limit=None, budget_held=99) == 0  # type: ignore[arg-type]
    with pytest.raises(DomainError) as limited:
        check_live_rules(**free, budget_limit=2, budget_held=2)  # type: ignore[arg-type]
    assert limited.value.params == {"limit": 2}


def test_confirming_a_paid_request_needs_the_money_on_a_funded_certificate() -> None:
    check_confirmable(cost_kopecks=0, certificate_status=None, balance_kopecks=0)
    check_confirmable(cost_kopecks=500, certificate_status="funded", balance_kopecks=500)
    for status, balance, code in [
        (None, 0, "enroll_needs_funded"),
        ("accounting", 10_000, "enroll_needs_funded"),
        ("funded", 499, "enroll_balance"),
    ]:
        with pytest.raises(DomainError) as refused:
            check_confirmable(cost_kopecks=500, certificate_status=status, balance_kopecks=balance)
        assert refused.value.code == code


def test_month_bounds_and_zones() -> None:
    assert month_bounds(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert zone("Asia/Novokuznetsk") == ZoneInfo("Asia/Novokuznetsk")
    assert zone(None) == REGION_TZ
    assert zone("Not/AZone") == REGION_TZ
