"""Announcements in storage: each audience filter, rights on every step, planning in batches
(restartable, idempotent), pause / cancel on the queue, results, Telegram's HTML."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage import Storage
from storage.base import utcnow
from storage.broadcasts import Filters, Status
from storage.broadcasts.audience import audience_query, count
from storage.broadcasts.html import shown_text, validate
from storage.broadcasts.sending import due, finish_sent, plan_batch
from storage.calendar import today
from storage.delivery import Priority
from storage.errors import DomainError
from storage.models import CertificateStatus, EnrollmentStatus, Notification, ReminderSettings, Role
from tests.support.enrollments import enrollment, family, group, municipality, parent


async def _world(store: Storage) -> dict[str, object]:
    s = store.session
    here, there = await municipality(s), await municipality(s)
    tech = await group(s, here)  # technical
    young = await family(s, here, age=8, status=CertificateStatus.funded)
    teen = await family(s, here, age=15, status=CertificateStatus.accounting)
    bare = await family(s, here, age=10, status=None)
    far = await family(s, there, age=8)
    await enrollment(s, tech, status=EnrollmentStatus.active, child=young.child, parent=young.user)
    teen.user.language = "en"
    staff = await parent(s, role=Role.staff, municipality_id=here.id)
    admin = await parent(s, role=Role.admin)
    await s.commit()
    return locals()


async def _count(store: Storage, where: list[int] | None, **filters: object) -> int:
    return await count(store.session, where, Filters(**filters).checked(), today())  # type: ignore[arg-type]


async def test_each_filter_narrows_the_one_before(store: Storage) -> None:
    w = await _world(store)
    here = [w["here"].id]  # type: ignore[attr-defined]
    assert await _count(store, None) == 4
    assert await _count(store, here) == 3
    assert await _count(store, here, age_min=7, age_max=12) == 2
    assert await _count(store, here, age_min=14, age_max=18) == 1
    assert await _count(store, here, direction="technical") == 1
    assert await _count(store, here, direction="arts") == 0
    assert await _count(store, here, program_id=w["tech"].program_id) == 1  # type: ignore[attr-defined]
    assert await _count(store, here, certificate="none") == 1
    assert await _count(store, here, certificate="accounting") == 1
    assert await _count(store, here, certificate="funded") == 1
    assert await _count(store, here, no_enrollment=True) == 2
    assert await _count(store, here, language="en") == 1
    assert await _count(store, here, language="ru") == 2
    assert await _count(store, here, age_min=7, age_max=12, no_enrollment=True) == 1
    # An opt-out is never counted.
    store.session.add(ReminderSettings(user_id=w["young"].user.id, announcements=False))  # type: ignore[attr-defined]
    await store.session.commit()
    assert await _count(store, here, age_min=7, age_max=12) == 1


@pytest.mark.parametrize(
    "filters",
    [{"age_min": 12, "age_max": 7}, {"age_max": 40}, {"direction": "magic"}, {"certificate": "x"}],
)
def test_values_no_screen_offers_are_refused(filters: dict[str, object]) -> None:
    with pytest.raises(DomainError):
        Filters.load(filters)


async def test_rights_on_every_step(store: Storage) -> None:
    w = await _world(store)
    staff, admin = w["staff"], w["admin"]
    there = w["there"].id  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="forbidden"):
        await store.broadcasts.create(w["young"].user, "Привет")  # type: ignore[attr-defined]
    mine = await store.broadcasts.create(staff, "Привет")  # type: ignore[arg-type]
    assert mine.municipality_ids == [w["here"].id] and not mine.all_municipalities  # type: ignore[attr-defined]
    for ids in ([there], None, [w["here"].id, there]):  # type: ignore[attr-defined]
        with pytest.raises(DomainError, match="forbidden"):
            await store.broadcasts.set_municipalities(staff, mine.id, ids)  # type: ignore[arg-type]
    theirs = await store.broadcasts.create(admin, "Всем")  # type: ignore[arg-type]
    assert theirs.all_municipalities
    with pytest.raises(DomainError, match="not_found"):  # staff never see an all-region one
        await store.broadcasts.start(staff, theirs.id)  # type: ignore[arg-type]
    await store.broadcasts.set_municipalities(admin, theirs.id, [there])  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="not_found"):
        await store.broadcasts.pause(staff, theirs.id)  # type: ignore[arg-type]


async def test_planning_streams_in_batches_is_idempotent_and_audited(store: Storage) -> None:
    w = await _world(store)
    admin = w["admin"]
    b = await store.broadcasts.create(admin, "<b>Всем</b>")  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="broadcast_time_past"):
        await store.broadcasts.start(admin, b.id, at=utcnow() - timedelta(minutes=1))  # type: ignore[arg-type]
    b, total = await store.broadcasts.start(admin, b.id)  # type: ignore[arg-type]
    assert total == 4 and await due(store.session) == [b.id]
    assert await plan_batch(store.session, b.id, batch=3) == 3
    # A crash before the next commit and a restart: planning resumes from the cursor; and a
    # repeat of a batch would add nothing (one idempotency key per recipient).
    b.planned_cursor = 0
    b.audience = 0
    await store.session.commit()
    assert await plan_batch(store.session, b.id, batch=3) == 3
    assert await plan_batch(store.session, b.id, batch=3) == 1
    assert await plan_batch(store.session, b.id, batch=3) == 0
    rows = (await store.session.scalars(select(Notification))).all()
    assert len(rows) == 4 and {r.priority for r in rows} == {Priority.announcement}
    assert len({r.telegram_id for r in rows}) == 4
    await store.broadcasts.pause(admin, b.id)  # type: ignore[arg-type]
    assert (await store.broadcasts.results(b)).queued == 4
    paused = await store.session.scalar(
        select(func.min(Notification.not_before)).where(
            Notification.campaign == f"broadcast:{b.id}"
        )
    )
    assert paused is not None and paused > utcnow() + timedelta(days=365)
    await store.broadcasts.resume(admin, b.id)  # type: ignore[arg-type]
    b = await store.broadcasts.cancel(admin, b.id)  # type: ignore[arg-type]
    results = await store.broadcasts.results(b)
    assert results.queued == 0 and results.cancelled == 4 and b.status == Status.cancelled
    assert await finish_sent(store.session) == 0


async def test_zero_recipients_cannot_be_sent(store: Storage) -> None:
    w = await _world(store)
    b = await store.broadcasts.create(w["staff"], "Никому")  # type: ignore[arg-type]
    await store.broadcasts.set_filters(w["staff"], b.id, age_min=17, age_max=18)  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="broadcast_no_recipients"):
        await store.broadcasts.start(w["staff"], b.id)  # type: ignore[arg-type]


def test_the_query_is_one_statement_for_both_databases() -> None:
    query = str(audience_query([1], Filters(age_min=7, age_max=9, certificate="none"), today()))
    assert query.count("SELECT") >= 3 and "EXISTS" in query


@pytest.mark.parametrize(
    "source",
    [
        '<b>жирный</b> <i>курсив</i> <a href="https://x.ru">ссылка</a>',
        "<blockquote expandable>цитата</blockquote> &lt;3 &amp; R&D",
        '<span class="tg-spoiler">тайна</span> <pre><code class="language-py">x</code></pre>',
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    ],
)
def test_telegram_html_accepted(source: str) -> None:
    assert validate(source) == source


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("<div>блок</div>", "html_tag"),
        ("<b><i>криво</b></i>", "html_nesting"),
        ("<b>не закрыт", "html_nesting"),
        ("a < b", "html_nesting"),
        ("&nbsp;пробел", "html_reference"),
        ("<span>нет класса</span>", "html_tag"),
        ("<a>без адреса</a>", "html_tag"),
        ("   ", "broadcast_empty"),
        ("я" * 4097, "broadcast_too_long"),
    ],
)
def test_telegram_html_refused(source: str, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        validate(source)
    assert refused.value.code == code


def test_caption_limit_is_1024() -> None:
    validate("я" * 1024, caption=True)
    with pytest.raises(DomainError, match="broadcast_too_long"):
        validate("я" * 1025, caption=True)


@given(st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=200))
def test_plain_text_shows_as_written(text: str) -> None:
    assert shown_text(text) == text


async def test_progress_is_edited_at_most_every_few_seconds_and_once_more_at_the_end(
    store: Storage,
) -> None:
    from storage.broadcasts.sending import mark_progress_shown, progress_due

    w = await _world(store)
    admin = w["admin"]
    b = await store.broadcasts.create(admin, "Всем")  # type: ignore[arg-type]
    b, _total = await store.broadcasts.start(admin, b.id)  # type: ignore[arg-type]
    await store.broadcasts.set_progress_message(admin, b.id, 9000, 5)  # type: ignore[arg-type]
    every = timedelta(seconds=3)
    assert [x.id for x in await progress_due(store.session, every)] == [b.id]
    await mark_progress_shown(store.session, b)
    assert await progress_due(store.session, every) == []  # throttled
    assert [x.id for x in await progress_due(store.session, timedelta(0))] == [b.id]
    while await plan_batch(store.session, b.id):
        pass
    await store.broadcasts.cancel(admin, b.id)  # type: ignore[arg-type]
    b.progress_at = utcnow() - timedelta(seconds=10)
    b.finished_at = utcnow() - timedelta(seconds=5)
    await store.session.commit()
    assert [x.id for x in await progress_due(store.session, every)] == [b.id]  # the final one
    await mark_progress_shown(store.session, b)
    b.progress_at = utcnow() + timedelta(seconds=1)  # shown after it finished
    await store.session.commit()
    assert await progress_due(store.session, timedelta(0)) == []


async def _indexed(store: Storage, *programs: object) -> None:
    """Give test programs their search text, as the catalogue loaders do (the index follows)."""
    from storage.catalog import search_text_for

    for program in programs:
        program.search_text = search_text_for(program.title, "", "")  # type: ignore[attr-defined]
    await store.session.commit()


async def test_program_and_group_filter_stay_within_the_announcements_municipalities(
    store: Storage,
) -> None:
    from storage.errors import NotFound
    from storage.models import Program

    w = await _world(store)
    s = store.session
    here, there, staff, admin = w["here"], w["there"], w["staff"], w["admin"]
    tech, young = w["tech"], w["young"]
    second = await group(s, here, program=await s.get(Program, tech.program_id))  # type: ignore[attr-defined]
    far_group = await group(s, there, title="Шахматы Юрги")  # type: ignore[arg-type]
    far_program = await s.get(Program, far_group.program_id)
    await _indexed(store, await s.get(Program, tech.program_id), far_program)  # type: ignore[attr-defined]
    b = (await store.broadcasts.create(staff, "Набор в кружок")).id  # type: ignore[arg-type]

    listed = await store.broadcasts.find_programs(staff, b)  # type: ignore[arg-type]
    assert [p.id for p in listed.items] == [tech.program_id]  # type: ignore[attr-defined]
    found = await store.broadcasts.find_programs(staff, b, "робототехника")  # type: ignore[arg-type]
    assert [p.id for p in found.items] == [tech.program_id] and found.total == 1  # type: ignore[attr-defined]
    assert (await store.broadcasts.find_programs(staff, b, "шахматы")).total == 0  # type: ignore[arg-type]

    await store.broadcasts.set_program(staff, b, tech.program_id)  # type: ignore[arg-type,attr-defined]
    assert await store.broadcasts.count(staff, b) == 1  # type: ignore[arg-type]
    await store.broadcasts.set_program(staff, b, tech.program_id, second.id)  # type: ignore[arg-type,attr-defined]
    assert await store.broadcasts.count(staff, b) == 0  # type: ignore[arg-type]
    # Another municipality's program or group, or a group of another program: refused.
    for program_id, group_id in ((far_program.id, None), (tech.program_id, far_group.id)):  # type: ignore[union-attr,attr-defined]
        with pytest.raises(NotFound):
            await store.broadcasts.set_program(staff, b, program_id, group_id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.broadcasts.set_filters(staff, b, program_id=far_program.id)  # type: ignore[arg-type,union-attr]
    with pytest.raises(NotFound):
        await store.broadcasts.program_groups(staff, b, far_program.id)  # type: ignore[arg-type,union-attr]
    with pytest.raises(DomainError):
        await store.broadcasts.set_filters(staff, b, program_id=None, group_id=second.id)  # type: ignore[arg-type]
    with pytest.raises(DomainError):  # a parent
        await store.broadcasts.find_programs(young.user, b)  # type: ignore[attr-defined]
    assert Filters.load((await store.broadcasts.get(staff, b)).filters).group_id == second.id  # type: ignore[arg-type]

    # An administrator addressing everyone may pick any program; narrowing the municipalities
    # to where the program is not drops the program filter rather than keep an empty audience.
    a = (await store.broadcasts.create(admin, "Всем")).id  # type: ignore[arg-type]
    assert (await store.broadcasts.find_programs(admin, a, "шахматы")).total == 1  # type: ignore[arg-type]
    await store.broadcasts.set_program(admin, a, far_program.id)  # type: ignore[arg-type,union-attr]
    assert await store.broadcasts.program_label(await store.broadcasts.get(admin, a)) == (  # type: ignore[arg-type]
        "Шахматы Юрги"
    )
    narrowed = await store.broadcasts.set_municipalities(admin, a, [here.id])  # type: ignore[arg-type,attr-defined]
    assert Filters.load(narrowed.filters).program_id is None
