"""Recently computed reports (storage/indicators/cache.py): reused, and dropped on any write."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from storage import Storage
from storage.errors import Forbidden
from storage.indicators import Indicator
from storage.indicators.cache import PAST_SECONDS, TODAY_SECONDS, ReportCache, report_cache
from storage.models import (
    Certificate,
    CertificateStatus,
    Child,
    Enrollment,
    EnrollmentStatus,
    Notification,
)
from tests.support.indicators import DAY, Region, aged, moment


@pytest.fixture
def region(store: Storage) -> Region:
    return Region(store)


async def _town(region: Region) -> tuple[int, Child]:
    town = await region.municipality("Юрга", children=10)
    kid = await region.child(town, aged(9))
    await region.study(kid, await region.program(town), date(2026, 1, 10))
    await region.certificate(kid, town, date(2025, 9, 1))
    return town, kid


async def test_a_repeated_press_reuses_the_computation(store: Storage, region: Region) -> None:
    town, _kid = await _town(region)
    admin, staff = await region.admin(), await region.staff(town)
    first = await store.indicators.report(admin, DAY)
    again = await store.indicators.report(admin, DAY)
    assert again.municipalities is first.municipalities  # the same result object's figures
    theirs = await store.indicators.report(staff, DAY)
    assert theirs.scope == town and theirs.municipalities is first.municipalities
    with pytest.raises(Forbidden):
        theirs.ranking(Indicator.coverage)  # the cached report is the admin's: scope still holds


async def test_an_enrollment_change_is_seen_at_once(store: Storage, region: Region) -> None:
    town, kid = await _town(region)
    admin = await region.admin()
    before = await store.indicators.report(admin, DAY)
    assert before.area(town).now.covered == 1
    await store.session.execute(
        update(Enrollment)
        .where(Enrollment.child_id == kid.id)
        .values(status=EnrollmentStatus.withdrawn, ended_at=moment(date(2026, 3, 1)))
    )
    await store.session.commit()
    after = await store.indicators.report(admin, DAY)
    assert after.area(town).now.covered == 0  # withdrawn in March: not studying on the day
    assert dict(after.area(town).monthly)[date(2026, 2, 1)] == 1  # still in February


async def test_a_certificate_change_is_seen_at_once(store: Storage, region: Region) -> None:
    town, kid = await _town(region)
    admin = await region.admin()
    assert (await store.indicators.report(admin, DAY)).area(town).now.funded == 1
    await store.session.execute(
        update(Certificate)
        .where(Certificate.child_id == kid.id)
        .values(status=CertificateStatus.accounting)
    )
    await store.session.commit()
    after = await store.indicators.report(admin, DAY)
    assert after.area(town).now.funded == 0 and after.area(town).now.certified == 1


async def test_writes_elsewhere_keep_the_cache(store: Storage, region: Region) -> None:
    await _town(region)
    admin = await region.admin()
    cache = report_cache(store.session.get_bind().engine)
    first = await store.indicators.report(admin, DAY)
    version = cache.version
    store.session.add(Notification(telegram_id=1, kind="indicator_report", params={}))
    await store.session.commit()
    assert cache.version == version  # the outbox is not a source of the figures
    assert (await store.indicators.report(admin, DAY)).municipalities is first.municipalities


def test_entries_expire_and_a_stale_computation_is_not_stored() -> None:
    now = [1000.0]
    cache = ReportCache(clock=lambda: now[0])
    today, past = date(2026, 6, 1), date(2026, 1, 1)
    report = object()
    cache.put(today, today, cache.version, report)  # type: ignore[arg-type]
    cache.put(past, today, cache.version, report)  # type: ignore[arg-type]
    now[0] += TODAY_SECONDS
    assert cache.get(today, today) is None  # today's figures: briefly
    assert cache.get(past, today) is report
    now[0] += PAST_SECONDS
    assert cache.get(past, today) is None
    version = cache.version
    cache.written()  # a write while the report was computed
    cache.put(today, today, version, report)  # type: ignore[arg-type]
    assert cache.get(today, today) is None
    cache.put(today, today + timedelta(days=1), cache.version, report)  # type: ignore[arg-type]
    assert cache.get(today, today) is None  # keyed by the day *and* by what today is
