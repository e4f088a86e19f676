"""Contract §1 rules of applying the navigator's objects (pull pages and export files alike)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.navigator_gateway import catalogue as nav
from storage import Storage
from storage.base import utcnow
from storage.models import Group, Notification, Program, Provider, Role, ScheduleSlot
from storage.navigator.apply import apply_objects, apply_page, sync_row
from storage.navigator.sync import alert_if_failing
from tests.support import enrollments as build
from tests.support.certificates import make_user
from tests.support.navigator import BELOVO, KEMEROVO, region, reports, snapshot

TS = 1_764_547_200


def family_of(ts: int = TS) -> list[dict]:
    return [
        nav.partner("pa-1", ts, KEMEROVO, name="Дом творчества «Радуга»"),
        nav.program("pr-1", ts, "pa-1", name="Робототехника для начинающих"),
        nav.group("gr-1", ts, "pr-1", size=12, freePlaces=10),
        nav.schedule(
            "sc-1", ts, "gr-1", weekDays=["tue", "thu"], timeStart="17:00", timeEnd="18:00"
        ),
    ]


async def test_a_page_creates_provider_program_group_and_slots(store: Storage) -> None:
    await region(store.session)
    result = await apply_page(store.session, family_of(), "c1")
    assert (result.applied, result.skipped, result.pending) == (4, 0, 0)
    program = await store.session.scalar(select(Program).where(Program.navigator_id == "pr-1"))
    assert program is not None and program.published
    assert program.title == "Робототехника для начинающих"
    assert "<" not in program.description and "два раза" in program.description
    assert program.cost_kopecks == 1000 * 100 * program.months
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None and (group.capacity, group.seats_taken) == (12, 2)
    slots = (await store.session.scalars(select(ScheduleSlot))).all()
    assert sorted(s.weekday for s in slots) == [1, 3]
    assert (await sync_row(store.session)).cursor == "c1"
    found = await store.catalog.search("робот")
    assert [row.title for row in found.items] == ["Робототехника для начинающих"]


async def test_a_group_before_its_program_waits_and_is_applied_when_it_comes(
    store: Storage,
) -> None:
    await region(store.session)
    objs = family_of()
    first = await apply_page(store.session, [objs[3], objs[2]], "c1")
    assert first.pending == 2 and first.applied == 0
    second = await apply_page(store.session, [objs[0], objs[1]], "c2")
    assert second.applied == 4
    assert len((await store.session.scalars(select(ScheduleSlot))).all()) == 2


async def test_older_and_equal_versions_are_ignored_newer_wins(store: Storage) -> None:
    await region(store.session)
    await apply_page(store.session, family_of(TS + 10), "c1")
    stale = nav.program("pr-1", TS + 5, "pa-1", name="Старое название")
    same = nav.program("pr-1", TS + 10, "pa-1", name="Тот же момент")
    result = await apply_page(store.session, [stale, same], "c2")
    assert result.ignored == 2 and result.applied == 0
    newer = nav.program("pr-1", TS + 11, "pa-1", name="Новое название")
    await apply_page(store.session, [newer], "c3")
    program = await store.session.scalar(select(Program).where(Program.navigator_id == "pr-1"))
    assert program is not None and program.title == "Новое название"
    assert not (await store.catalog.search("начинающих")).items
    assert (await store.catalog.search("новое")).items


async def test_a_deleted_program_leaves_catalogue_and_search_at_once(store: Storage) -> None:
    ids = await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    await apply_page(store.session, [nav.tombstone(objs[1], TS + 1)], "c2")
    assert not (await store.catalog.search("робот")).items
    counts = await store.catalog.direction_counts(ids[KEMEROVO])
    assert sum(counts.values()) == 0
    program = await store.session.scalar(select(Program).where(Program.navigator_id == "pr-1"))
    assert program is not None and not program.published
    # An older version arriving after the deletion does not bring it back.
    await apply_page(store.session, [nav.program("pr-1", TS, "pa-1")], "c3")
    await store.session.refresh(program)
    assert not program.published


async def test_archived_program_is_hidden(store: Storage) -> None:
    await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    await apply_page(
        store.session, [{**objs[1], "lastmodifiedTs": TS + 1, "state": "archive"}], "c2"
    )
    assert not (await store.catalog.search("робот")).items


async def test_bad_records_are_skipped_and_reported_the_rest_applied(store: Storage) -> None:
    await region(store.session)
    objs = family_of()
    bad = [
        nav.partner("pa-x", TS, "Несуществующий район"),
        {**nav.program("pr-x", TS, "pa-1"), "focusCode": "magic"},
        {**nav.group("gr-x", TS, "pr-1"), "dateBegin": "31.12.2026"},
        {"type": "group", "uuid": "no-ts"},
        "not an object",
        {**nav.schedule("sc-x", TS, "gr-1"), "timeStart": "18:00", "timeEnd": "17:00"},
    ]
    result = await apply_page(store.session, [*objs[:2], *bad, *objs[2:]], "c1")
    assert result.applied == 4 and result.skipped == 6
    reasons = sorted(r.reason for r in await reports(store.session))
    assert reasons == sorted(
        [
            "unknown_municipality",
            "bad_value",
            "bad_value",
            "bad_lastmodifiedTs",
            "not_an_object",
            "bad_value",
        ]
    )
    assert (await sync_row(store.session)).skipped_total == 6


async def test_municipality_by_oktmo_when_known_else_by_name(store: Storage) -> None:
    ids = await region(store.session)
    await apply_page(store.session, [nav.partner("pa-1", TS, BELOVO, oktmo="32607000")], "c1")
    # The code is learnt: a later record with the code and a spelling we do not know matches.
    await apply_page(
        store.session, [nav.partner("pa-2", TS, "Беловский р-н", oktmo="32607000")], "c2"
    )
    rows = (await store.session.scalars(select(Provider).order_by(Provider.id))).all()
    assert [p.municipality_id for p in rows] == [ids[BELOVO], ids[BELOVO]]


async def test_a_replayed_page_changes_nothing(store: Storage) -> None:
    await region(store.session)
    await apply_page(store.session, family_of(), "c1")
    before = await snapshot(store.session)
    result = await apply_objects(store.session, family_of())
    await store.session.commit()
    assert result.applied == 0 and result.ignored == 4
    assert await snapshot(store.session) == before


async def test_a_deleted_schedule_leaves_the_group_and_a_new_one_replaces_slots(
    store: Storage,
) -> None:
    await region(store.session)
    objs = family_of()
    extra = nav.schedule("sc-2", TS, "gr-1", weekDays=["sat"], timeStart="10:00", timeEnd="11:00")
    await apply_page(store.session, [*objs, extra], "c1")
    assert len((await store.session.scalars(select(ScheduleSlot))).all()) == 3
    await apply_page(store.session, [nav.tombstone(objs[3], TS + 1)], "c2")
    slots = (await store.session.scalars(select(ScheduleSlot))).all()
    assert [s.weekday for s in slots] == [5]


async def test_a_group_shrunk_below_the_bots_holds_keeps_them_and_is_reported(
    store: Storage,
) -> None:
    ids = await region(store.session)
    await apply_page(store.session, family_of(), "c1")
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None
    where = await store.municipalities.get(ids[KEMEROVO])
    for _ in range(3):
        fam = await build.family(store.session, where, age=9)
        await store.enrollments.submit(fam.user, fam.child.id, group.id)
    shrunk = nav.group("gr-1", TS + 1, "pr-1", size=2, freePlaces=0)
    await apply_page(store.session, [shrunk], "c2")
    await store.session.refresh(group)
    assert (group.capacity, group.seats_taken) == (3, 3)  # the holds stay, nothing overbooks
    (report,) = await reports(store.session, "overbooked")
    assert report.uuid == "gr-1" and report.detail == "2 < 3"
    # The navigator's count wins when it is the larger: it knows seats we never saw.
    await apply_page(
        store.session, [nav.group("gr-1", TS + 2, "pr-1", size=12, freePlaces=4)], "c3"
    )
    await store.session.refresh(group)
    assert (group.capacity, group.seats_taken) == (12, 8)


async def test_a_locked_group_is_closed_whatever_its_dates(store: Storage) -> None:
    await region(store.session)
    await apply_page(
        store.session, [*family_of()[:2], nav.group("gr-1", TS, "pr-1", isLocked=True)], "c1"
    )
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None and group.enrollment_closes_on < group.enrollment_opens_on


async def test_a_deleted_group_with_enrollments_stays_closed_and_parents_are_told(
    store: Storage,
) -> None:
    ids = await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None
    where = await store.municipalities.get(ids[KEMEROVO])
    fam = await build.family(store.session, where, age=9)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await apply_page(store.session, [nav.tombstone(objs[2], TS + 1)], "c2")
    await store.session.refresh(group)
    assert group.enrollment_closes_on < group.enrollment_opens_on
    kept = await store.enrollments.get_for_parent(fam.user, view.id)
    assert kept.status == "submitted"
    kinds = (await store.session.scalars(select(Notification.kind))).all()
    assert "navigator_withdrawn" in kinds


async def test_the_sync_failing_for_an_hour_alerts_admins_once(store: Storage) -> None:
    await make_user(store.session, 9100, role=Role.admin)
    state = await sync_row(store.session)
    state.failing_since = utcnow() - timedelta(minutes=59)
    state.last_error = "503"
    await store.session.commit()
    assert await alert_if_failing(store.session) == 0  # not yet an hour
    assert await alert_if_failing(store.session, now=utcnow() + timedelta(minutes=2)) == 1
    for minute in range(3, 10):  # the loop runs every minute: no second alert
        assert await alert_if_failing(store.session, now=utcnow() + timedelta(minutes=minute)) == 0
    kinds = (await store.session.scalars(select(Notification.kind))).all()
    assert kinds.count("navigator_sync_failing") == 1


async def test_a_deleted_group_without_enrollments_is_removed_with_its_slots(
    store: Storage,
) -> None:
    await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    await apply_page(store.session, [nav.tombstone(objs[2], TS + 1)], "c2")
    assert not (await store.session.scalars(select(Group))).all()
    assert not (await store.session.scalars(select(ScheduleSlot))).all()


async def test_an_unusable_newer_version_withdraws_what_it_replaces(store: Storage) -> None:
    await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    bad = {**objs[1], "lastmodifiedTs": TS + 1, "focusCode": "magic"}
    result = await apply_page(store.session, [bad], "c2")
    assert result.skipped == 1
    assert not (await store.catalog.search("робототехника")).items
    good = {**objs[1], "lastmodifiedTs": TS + 2}
    await apply_page(store.session, [good], "c3")
    assert (await store.catalog.search("робототехника")).items


async def test_a_bad_record_is_reported_at_once_even_before_its_parent(store: Storage) -> None:
    await region(store.session)
    bad = {**nav.group("gr-x", TS, "pr-unknown"), "size": -1}
    result = await apply_page(store.session, [bad], "c1")
    assert result.skipped == 1 and result.pending == 0
    assert [r.reason for r in await reports(store.session)] == ["bad_value"]


async def test_a_usable_version_after_an_unusable_one_is_applied_when_its_group_comes(
    store: Storage,
) -> None:
    """Found by the property test: the unusable version came first, while its group was
    unknown; the newer usable one must not stay out because of it."""
    await region(store.session)
    objs = family_of()
    bad = {**objs[3], "lastmodifiedTs": TS + 1, "timeEnd": "00:00"}
    good = {**objs[3], "lastmodifiedTs": TS + 2}
    await apply_page(store.session, [bad], "c1")
    await apply_page(store.session, [good], "c2")
    await apply_page(store.session, objs[:3], "c3")
    assert len((await store.session.scalars(select(ScheduleSlot))).all()) == 2


async def test_children_follow_what_they_take_from_a_changed_parent(store: Storage) -> None:
    """A group without ages takes its program's; a program's search text holds its partner's
    name: when those change, the children are written again in the same page."""
    await region(store.session)
    objs = family_of()
    ageless = {k: v for k, v in objs[2].items() if k not in ("ageFrom", "ageTo")}
    await apply_page(store.session, [*objs[:2], ageless, objs[3]], "c1")
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None and (group.age_min, group.age_max) == (7, 14)
    older = nav.program("pr-1", TS + 1, "pa-1", name="Робототехника для начинающих", minAge=10)
    renamed = nav.partner("pa-1", TS + 1, KEMEROVO, name="Кванториум «Сибирь»")
    await apply_page(store.session, [older, renamed], "c2")
    await store.session.refresh(group)
    assert (group.age_min, group.age_max) == (10, 14)
    assert (await store.catalog.search("кванториум")).items
    assert not (await store.catalog.search("радуга")).items


async def test_a_renamed_program_leaves_its_groups_and_slots_alone(store: Storage) -> None:
    await region(store.session)
    objs = family_of()
    await apply_page(store.session, objs, "c1")
    slots = sorted((await store.session.scalars(select(ScheduleSlot.id))).all())
    renamed = nav.program("pr-1", TS + 1, "pa-1", name="Робототехника: первые шаги")
    result = await apply_page(store.session, [renamed], "c2")
    assert result.applied == 1  # the program alone
    assert sorted((await store.session.scalars(select(ScheduleSlot.id))).all()) == slots
    assert (await store.catalog.search("шаги")).items


async def test_a_schedule_moved_to_another_group_leaves_the_first(store: Storage) -> None:
    await region(store.session)
    objs = family_of()
    second = nav.group("gr-2", TS, "pr-1")
    await apply_page(store.session, [*objs, second], "c1")
    moved = {**objs[3], "lastmodifiedTs": TS + 1, "groupUuid": "gr-2"}
    await apply_page(store.session, [moved], "c2")
    rows = await store.session.execute(
        select(Group.navigator_id, ScheduleSlot.weekday).join(
            ScheduleSlot, ScheduleSlot.group_id == Group.id
        )
    )
    assert sorted(tuple(row) for row in rows) == [("gr-2", 1), ("gr-2", 3)]
