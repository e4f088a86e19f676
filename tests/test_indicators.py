"""Indicators on small hand-built regions with known answers (issue 14, docs/INDICATORS.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import Storage
from storage.base import utcnow
from storage.errors import DomainError, Forbidden, NotFound
from storage.indicators import Indicator, Share, target_for
from storage.indicators.compute import end_of, months_before, years_before
from storage.indicators.history import status_dates
from storage.models import (
    AuditEntry,
    CertificateApplication,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Notification,
    Role,
    User,
)
from tests.support import enrollments as build
from tests.support.indicators import DAY, Region, aged, moment


@pytest.fixture
def region(store: Storage) -> Region:
    return Region(store)


async def test_a_child_in_two_programs_counts_once(store: Storage, region: Region) -> None:
    town = await region.municipality("Юрга", children=100)
    arts, robots = await region.program(town), await region.program(town, Direction.technical)
    kid = await region.child(town, aged(10))
    await region.study(kid, arts, date(2025, 9, 10))
    await region.study(kid, robots, date(2025, 10, 1))
    other = await region.child(town, aged(8))
    await region.study(other, arts, date(2025, 9, 10))
    report = await store.indicators.report(await region.admin(), DAY)
    area = report.area(town)
    assert area.share(Indicator.coverage) == Share(2, 100)
    assert area.share(Indicator.coverage).percent == Decimal("2.0")
    assert area.share(Indicator.tech_science) == Share(1, 100)


async def test_ages_5_to_17_inclusive_on_the_day(store: Storage, region: Region) -> None:
    town = await region.municipality("Тайга", children=10)
    arts = await region.program(town)
    for born in (
        years_before(DAY, 18),  # turned 18 on the day: out
        years_before(DAY, 18) + timedelta(days=1),  # 18 tomorrow: still 17, in
        years_before(DAY, 5),  # 5 today: in
        years_before(DAY, 5) + timedelta(days=1),  # 5 tomorrow: out
    ):
        await region.study(await region.child(town, born), arts, date(2025, 9, 10))
    report = await store.indicators.report(await region.admin(), DAY)
    assert report.area(town).share(Indicator.coverage).count == 2


async def test_a_withdrawn_enrollment_counts_until_it_ended(store: Storage, region: Region) -> None:
    town = await region.municipality("Мыски", children=10)
    arts = await region.program(town)
    kid = await region.child(town, aged(9))
    await region.study(
        kid, arts, date(2025, 9, 10), status=EnrollmentStatus.withdrawn, ended=date(2026, 3, 15)
    )
    finished = await region.child(town, aged(12))
    await region.study(
        finished, arts, date(2025, 9, 10), status=EnrollmentStatus.finished, ended=DAY
    )
    report = await store.indicators.report(await region.admin(), DAY)
    area = report.area(town)
    # On the day: the withdrawn one ended in March, the finished one during the day itself.
    assert area.now.covered == 0
    by_day = dict(area.monthly)
    assert by_day[date(2026, 3, 1)] == 2  # both were studying on 1 March
    assert by_day[date(2026, 4, 1)] == 1  # the withdrawn one no longer
    assert area.half_year_ago.on == date(2025, 12, 1)
    assert area.monthly[0] == (area.half_year_ago.on, area.half_year_ago.covered)
    assert area.monthly[-1] == (area.now.on, area.now.covered)


async def test_unset_children_means_no_data_not_a_division(store: Storage, region: Region) -> None:
    unknown = await region.municipality("Белово")  # children_5_18 = 0: not recorded
    known = await region.municipality("Гурьевск", children=50)
    for where in (unknown, known):
        program = await region.program(where)
        await region.study(await region.child(where, aged(10)), program, date(2025, 9, 1))
    report = await store.indicators.report(await region.admin(), DAY)
    blank = report.area(unknown).share(Indicator.coverage)
    assert blank == Share(1, None) and blank.percent is None
    assert report.without_children_data == ("Белово",)
    # The region's share is over the municipalities that have the figure, nothing invented.
    assert report.region.share(Indicator.coverage) == Share(1, 50)
    ranked = report.ranking(Indicator.coverage)
    assert [area.name for area, _ in ranked] == ["Гурьевск", "Белово"]


async def test_a_past_day_is_computed_from_the_dates(store: Storage, region: Region) -> None:
    town = await region.municipality("Осинники", children=10)
    arts = await region.program(town)
    await region.study(await region.child(town, aged(10)), arts, date(2026, 5, 20))
    admin = await region.admin()
    assert (await store.indicators.report(admin, date(2026, 5, 19))).area(town).now.covered == 0
    assert (await store.indicators.report(admin, date(2026, 5, 20))).area(town).now.covered == 1


async def test_started_late_in_the_evening_local_time_counts_that_day(
    store: Storage, region: Region
) -> None:
    town = await region.municipality("Калтан", children=10)
    arts = await region.program(town)
    kid = await region.child(town, aged(10))
    row = await region.study(kid, arts, date(2026, 5, 20))
    # 23:30 in Novokuznetsk (UTC+7) on 20 May is 16:30 UTC: still the 20th there.
    row.active_since = end_of(date(2026, 5, 20)) - timedelta(minutes=30)
    admin = await region.admin()
    await store.session.commit()
    assert (await store.indicators.report(admin, date(2026, 5, 20))).area(town).now.covered == 1
    assert (await store.indicators.report(admin, date(2026, 5, 19))).area(town).now.covered == 0


async def test_certificates_funded_until_downgraded(store: Storage, region: Region) -> None:
    town = await region.municipality("Полысаево", children=20)
    funded = await region.child(town, aged(10))
    await region.certificate(funded, town, date(2025, 9, 1))
    downgraded = await region.child(town, aged(11))
    await region.certificate(
        downgraded, town, date(2025, 9, 1), status="accounting", downgraded=date(2026, 2, 10)
    )
    accounting = await region.child(town, aged(12))
    await region.certificate(accounting, town, date(2025, 9, 1), status="accounting")
    grown_up = await region.child(town, aged(19))
    await region.certificate(grown_up, town, date(2025, 9, 1))
    report = await store.indicators.report(await region.admin(), DAY)
    area = report.area(town)
    assert area.share(Indicator.funded) == Share(1, 20)
    assert area.share(Indicator.certified) == Share(3, 20)
    assert area.half_year_ago.funded == 2  # on 1 December the downgraded one was still funded


async def test_disability_adapted_programs(store: Storage, region: Region) -> None:
    town = await region.municipality("Берёзовский", children=200)
    adapted = await region.program(town, adapted=True)
    await region.study(await region.child(town, aged(9)), adapted, date(2025, 9, 1))
    report = await store.indicators.report(await region.admin(), DAY)
    assert report.area(town).share(Indicator.disability_adapted).percent == Decimal("0.5")
    assert report.area(town).catalogue.adapted == 1


async def test_financing_share_rolls_back_through_the_audit_log(
    store: Storage, region: Region
) -> None:
    on = await region.municipality("Междуреченск", financing=True)
    await region.municipality("Прокопьевск", financing=False)
    store.session.add(
        AuditEntry(
            action="municipality.update",
            object_type="municipality",
            object_id=on,
            before={"financing_enabled": False},
            after={"financing_enabled": True},
            created_at=moment(date(2026, 3, 1)),
        )
    )
    report = await store.indicators.report(await region.admin(), DAY)
    assert report.financing() == Share(1, 2)
    assert report.financing(0) == Share(0, 2)  # on 1 December nobody had it yet


async def test_staff_see_their_municipality_and_the_region_only(
    store: Storage, region: Region
) -> None:
    mine = await region.municipality("Анжеро-Судженск", children=5)
    theirs = await region.municipality("Топки", children=5)
    staff = await region.staff(mine)
    report = await store.indicators.report(staff, DAY)
    assert report.area(mine).name == "Анжеро-Судженск"
    assert report.area(None) is report.region
    with pytest.raises(NotFound):
        report.area(theirs)
    with pytest.raises(Forbidden):
        report.ranking(Indicator.coverage)
    parent = User(telegram_id=5, municipality_id=mine)
    store.session.add(parent)
    await store.session.commit()
    with pytest.raises(Forbidden):
        await store.indicators.report(parent, DAY)


async def test_a_future_day_is_refused(store: Storage, region: Region) -> None:
    with pytest.raises(DomainError) as refused:
        await store.indicators.report(await region.admin(), date(2999, 1, 1))
    assert refused.value.code == "indicators_day"


async def test_the_certificate_queue_on_the_day(store: Storage, region: Region) -> None:
    town = await region.municipality("Юргинский округ", children=5)
    created = moment(DAY) - timedelta(days=3)
    for decided in (None, created + timedelta(hours=10), created + timedelta(hours=30)):
        store.session.add(
            CertificateApplication(
                municipality_id=town,
                status="pending" if decided is None else "approved",
                created_at=created,
                decided_at=decided,
            )
        )
    report = await store.indicators.report(await region.admin(), DAY)
    service = report.area(town).service
    assert service.pending == 1
    assert service.oldest_pending_days == 3
    assert service.decisions_week == 2
    assert service.median_decision_hours == pytest.approx(20)


async def test_staff_record_children_5_18_with_an_audit_entry(
    store: Storage, region: Region
) -> None:
    town = await region.municipality("Ленинск-Кузнецкий муниципальный район")
    staff = await region.staff(town)
    municipality, before, after = await store.indicators.set_children(staff, town, 3300)
    assert municipality.children_5_18 == 3300
    assert (before, after) == ({"children_5_18": 0}, {"children_5_18": 3300})
    entries = await store.audit.latest(object_type="municipality")
    assert entries[0].after == {"children_5_18": 3300}
    with pytest.raises(DomainError) as refused:
        await store.indicators.set_children(staff, town, -1)
    assert refused.value.code == "parameter_range"


async def test_scheduled_report_queued_once_per_municipality_and_date(
    store: Storage, region: Region
) -> None:
    town = await region.municipality("Кемерово", children=10)
    quiet = await region.municipality("Крапивинский округ", children=10)
    first, second = await region.staff(town), await region.staff(town)
    await region.staff(quiet)
    assert await store.indicators.queue_scheduled(DAY) == 2
    assert await store.indicators.queue_scheduled(DAY) == 0
    rows = (await store.session.scalars(select(Notification))).all()
    assert sorted(n.telegram_id for n in rows if n.params["municipality_id"] == town) == sorted(
        [first.telegram_id, second.telegram_id]
    )
    assert {n.kind for n in rows} == {"indicator_report"}
    assert len(rows) == 3
    assert rows[0].params["figures"]["coverage"]["target"] == "77"
    count = await store.session.scalar(select(func.count()).select_from(Notification))
    assert count == 3


def test_targets_are_the_seed_numbers() -> None:
    assert target_for(Indicator.coverage, 2019).percent == Decimal("76")  # type: ignore[union-attr]
    assert target_for(Indicator.coverage, 2020).percent == Decimal("76.5")  # type: ignore[union-attr]
    assert target_for(Indicator.coverage, 2026).percent == Decimal("77")  # type: ignore[union-attr]
    assert target_for(Indicator.coverage, 2018).percent == Decimal("76")  # type: ignore[union-attr]
    assert target_for(Indicator.tech_science, 2020).percent == Decimal("17")  # type: ignore[union-attr]
    assert target_for(Indicator.funded, 2021).percent == Decimal("35")  # type: ignore[union-attr]
    assert target_for(Indicator.financing, 2019).percent == Decimal("50")  # type: ignore[union-attr]
    own = target_for(Indicator.coverage, 2026, "Ленинск-Кузнецкий муниципальный район")
    assert own is not None and own.percent == Decimal("67") and own.source.startswith("004")
    assert target_for(Indicator.certified, 2026) is None


def test_dates_on_a_leap_day() -> None:
    assert years_before(date(2024, 2, 29), 5) == date(2019, 2, 28)
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2026, 6, 1), 6) == date(2025, 12, 1)


def test_status_changes_carry_their_dates() -> None:
    now = moment(DAY)
    assert status_dates(EnrollmentStatus.active, now) == {"active_since": now}
    assert status_dates(EnrollmentStatus.withdrawn, now) == {"ended_at": now}
    assert status_dates(EnrollmentStatus.finished, now) == {"ended_at": now}
    assert status_dates(EnrollmentStatus.confirmed, now) == {}


async def test_the_transitions_stamp_the_dates_a_past_day_reads(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=9_000 * build.RUB, months=9)
    fam = await build.family(store.session, where, balance=9_000 * build.RUB)
    admin = await build.parent(store.session, role=Role.admin)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await store.enrollments.confirm(admin, view.id)

    async def stamped() -> tuple[datetime | None, datetime | None]:
        row = await store.session.get(Enrollment, view.id, populate_existing=True)
        assert row is not None
        return row.active_since, row.ended_at

    assert await stamped() == (None, None)
    before = utcnow()
    await store.enrollments.activate(admin, view.id)
    since, ended = await stamped()
    assert since is not None and since >= before and ended is None
    await store.enrollments.withdraw(fam.user, view.id)
    again, ended = await stamped()
    assert again == since and ended is not None and ended >= since
