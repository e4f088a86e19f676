"""Families storage rules: consent first (152-ФЗ), child validation, ownership, settings."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import pytest

from storage import Storage
from storage.errors import DomainError, NotFound
from storage.families import (
    CHILD_NAME_MAX,
    CONSENT_VERSION,
    MAX_CHILDREN,
    normalize_child_name,
    parse_birth_date,
)
from storage.models import (
    Certificate,
    CertificateApplication,
    Child,
    Enrollment,
    EnrollmentStatus,
    Municipality,
    User,
)
from tests.support import enrollments as build

TODAY = date(2026, 11, 20)
T = TypeVar("T")


async def parent(store: Storage, telegram_id: int = 1, *, consent: bool = True) -> User:
    user = await store.families.get_or_create_user(telegram_id)
    if consent:
        await store.families.give_consent(user.id)
    return user


async def municipality(store: Storage, name: str = "город Кемерово") -> Municipality:
    row = Municipality(name=name)
    store.session.add(row)
    await store.session.commit()
    return row


async def fresh(store: Storage, model: type[T], row_id: int) -> T:
    """The row as the database has it now, not as this session remembers it."""
    row = await store.session.get(model, row_id, populate_existing=True)
    assert row is not None
    return row


async def reload(store: Storage, user_id: int) -> User:
    return await fresh(store, User, user_id)


def code_of(excinfo: pytest.ExceptionInfo[DomainError]) -> str:
    return excinfo.value.code


# --- users, language, municipality ----------------------------------------------------------


async def test_first_contact_registers_a_parent_without_personal_data(store: Storage) -> None:
    user = await store.families.get_or_create_user(42)
    again = await store.families.get_or_create_user(42)
    assert again.id == user.id
    assert (user.role, user.language, user.municipality_id, user.consent_version) == (
        "parent",
        None,
        None,
        None,
    )


async def test_admin_ids_promote_on_contact(store: Storage) -> None:
    await store.families.get_or_create_user(7)
    user = await store.families.get_or_create_user(7, is_admin=True)
    assert user.role == "admin"


async def test_language_is_saved_and_only_supported_ones(store: Storage) -> None:
    user = await parent(store, consent=False)
    await store.families.set_language(user.id, "en")
    assert (await reload(store, user.id)).language == "en"
    with pytest.raises(DomainError) as excinfo:
        await store.families.set_language(user.id, "de")
    assert code_of(excinfo) == "language_unsupported"
    await store.families.set_language(user.id, None)  # back to Telegram's language
    assert (await reload(store, user.id)).language is None


async def test_municipality_is_saved_and_must_exist(store: Storage) -> None:
    user = await parent(store, consent=False)
    kemerovo = await municipality(store)
    await store.families.set_municipality(user.id, kemerovo.id)
    assert (await reload(store, user.id)).municipality_id == kemerovo.id
    with pytest.raises(NotFound):
        await store.families.set_municipality(user.id, kemerovo.id + 100)


async def test_municipality_search_ignores_case_and_yo(store: Storage) -> None:
    for name in (
        "город Кемерово",
        "Кемеровский муниципальный район",
        "Берёзовский городской округ",
    ):
        await municipality(store, name)
    found = [m.name for m in await store.municipalities.search("кемер")]
    assert found == ["город Кемерово", "Кемеровский муниципальный район"]  # «город» aside
    assert [m.name for m in await store.municipalities.search("БЕРЕЗ")] == [
        "Берёзовский городской округ"
    ]
    assert await store.municipalities.search("Москва") == []


async def test_municipality_pages_are_clamped(store: Storage) -> None:
    for n in range(10):
        await municipality(store, f"Район {n:02d}")
    first = await store.municipalities.page(0, 8)
    last = await store.municipalities.page(5, 8)  # past the end: the last page
    assert (first.pages, first.total, len(first.items)) == (2, 10, 8)
    assert (last.page, [m.name for m in last.items]) == (1, ["Район 08", "Район 09"])


# --- consent ------------------------------------------------------------------------------------


async def test_no_child_is_stored_without_consent(store: Storage) -> None:
    user = await parent(store, consent=False)
    with pytest.raises(DomainError) as excinfo:
        await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    assert code_of(excinfo) == "consent_required"
    assert await store.families.list_children(user.id) == []


async def test_consent_is_versioned(store: Storage) -> None:
    user = await parent(store, consent=False)
    with pytest.raises(DomainError) as excinfo:
        await store.families.give_consent(user.id, "2019-01")  # an old screen's button
    assert code_of(excinfo) == "consent_outdated"
    await store.families.give_consent(user.id)
    assert user.consent_version == CONSENT_VERSION
    assert user.consent_at is not None
    # Agreed to an older text: children wait for the current one.
    user.consent_version = "2019-01"
    await store.session.commit()
    with pytest.raises(DomainError) as excinfo:
        await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    assert code_of(excinfo) == "consent_required"


async def test_withdrawing_consent_deletes_the_children(store: Storage) -> None:
    user = await parent(store)
    other = await parent(store, telegram_id=2)
    await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    await store.families.add_child(user.id, "Петя", date(2016, 1, 9), today=TODAY)
    kept = await store.families.add_child(other.id, "Оля", date(2017, 3, 3), today=TODAY)
    assert await store.families.withdraw_consent(user.id) == 2
    assert await store.families.list_children(user.id) == []
    assert (await reload(store, user.id)).consent_version is None
    assert [c.id for c in await store.families.list_children(other.id)] == [kept.id]


# --- child validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Мария   Иванова ", "Мария Иванова"),
        ("Анна-Мария", "Анна-Мария"),
        ("Анна – Мария", "Анна-Мария"),
        ("Jean Luc", "Jean Luc"),
        ("Ян", "Ян"),
    ],
)
def test_names_are_tidied(raw: str, expected: str) -> None:
    assert normalize_child_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Я", "child_name_length"),
        ("", "child_name_length"),
        ("А" * (CHILD_NAME_MAX + 1), "child_name_length"),
        ("Маша2", "child_name_chars"),
        ("<b>Маша</b>", "child_name_chars"),
        ("Маша 🙂", "child_name_chars"),
        ("Анна--Мария", "child_name_chars"),
        ("- -", "child_name_length"),
    ],
)
def test_bad_names_are_refused(raw: str, code: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        normalize_child_name(raw)
    assert code_of(excinfo) == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("05.09.2016", date(2016, 9, 5)),
        ("5.9.2016", date(2016, 9, 5)),
        (" 29-02-2016 ", date(2016, 2, 29)),
        ("2016-09-05", date(2016, 9, 5)),  # ISO, as a phone's date picker may paste it
    ],
)
def test_birth_dates_are_parsed(raw: str, expected: date) -> None:
    assert parse_birth_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("31.02.2015", "birth_date_impossible"),
        ("29.02.2015", "birth_date_impossible"),
        ("00.01.2015", "birth_date_impossible"),
        ("12.13.2015", "birth_date_impossible"),
        ("2015-02-30", "birth_date_impossible"),
        ("2015-2", "birth_date_format"),
        ("2016/09/05", "birth_date_format"),  # year first only as ISO
        ("05.09.16", "birth_date_format"),
        ("вчера", "birth_date_format"),
    ],
)
def test_bad_birth_dates_are_refused(raw: str, code: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        parse_birth_date(raw)
    assert code_of(excinfo) == code


@pytest.mark.parametrize(
    ("born", "code"),
    [
        (date(2026, 11, 21), "birth_date_future"),
        (date(2008, 11, 20), "child_too_old"),  # 18 today
        (date(2025, 11, 21), "child_too_young"),  # one year old tomorrow
    ],
)
async def test_ages_outside_the_service_are_refused(store: Storage, born: date, code: str) -> None:
    user = await parent(store)
    with pytest.raises(DomainError) as excinfo:
        await store.families.add_child(user.id, "Маша", born, today=TODAY)
    assert code_of(excinfo) == code
    assert await store.families.list_children(user.id) == []


async def test_age_boundaries_are_accepted(store: Storage) -> None:
    user = await parent(store)
    oldest = await store.families.add_child(user.id, "Старший", date(2008, 11, 21), today=TODAY)
    youngest = await store.families.add_child(user.id, "Младший", date(2025, 11, 20), today=TODAY)
    assert {c.id for c in await store.families.list_children(user.id)} == {oldest.id, youngest.id}


async def test_duplicates_and_the_limit_are_refused(store: Storage) -> None:
    user = await parent(store)
    await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    with pytest.raises(DomainError) as excinfo:
        await store.families.add_child(user.id, "  маша ", date(2018, 5, 1), today=TODAY)
    assert code_of(excinfo) == "child_duplicate"
    for n in range(MAX_CHILDREN - 1):
        await store.families.add_child(
            user.id, "Ребёнок " + "абвгдежзий"[n], date(2015, 1, 1), today=TODAY
        )
    with pytest.raises(DomainError) as excinfo:
        await store.families.add_child(user.id, "Лишний", date(2015, 1, 1), today=TODAY)
    assert code_of(excinfo) == "children_limit"


# --- ownership ------------------------------------------------------------------------------------


async def test_another_parents_child_is_not_found(store: Storage) -> None:
    anna = await parent(store, 1)
    boris = await parent(store, 2)
    child = await store.families.add_child(anna.id, "Маша", date(2018, 5, 1), today=TODAY)
    with pytest.raises(NotFound):
        await store.families.get_child(boris.id, child.id)
    with pytest.raises(NotFound):
        await store.families.update_child(boris.id, child.id, full_name="Чужая", today=TODAY)
    with pytest.raises(NotFound):
        await store.families.delete_child(boris.id, child.id)
    same = await fresh(store, Child, child.id)
    assert (same.full_name, same.birth_date) == ("Маша", date(2018, 5, 1))


async def test_update_validates_like_add(store: Storage) -> None:
    user = await parent(store)
    child = await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    with pytest.raises(DomainError) as excinfo:
        await store.families.update_child(user.id, child.id, full_name="М", today=TODAY)
    assert code_of(excinfo) == "child_name_length"
    with pytest.raises(DomainError) as excinfo:
        await store.families.update_child(
            user.id, child.id, birth_date=date(2030, 1, 1), today=TODAY
        )
    assert code_of(excinfo) == "birth_date_future"
    updated = await store.families.update_child(
        user.id, child.id, full_name="Мария", birth_date=date(2018, 6, 2), today=TODAY
    )
    again = await fresh(store, Child, child.id)
    assert (updated.id, again.full_name, again.birth_date) == (child.id, "Мария", date(2018, 6, 2))


async def test_delete_removes_only_that_child(store: Storage) -> None:
    user = await parent(store)
    masha = await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    petya = await store.families.add_child(user.id, "Петя", date(2016, 1, 9), today=TODAY)
    await store.families.delete_child(user.id, masha.id)
    assert [c.id for c in await store.families.list_children(user.id)] == [petya.id]
    with pytest.raises(NotFound):
        await store.families.get_child(user.id, masha.id)


@pytest.mark.parametrize("status", ["submitted", "confirmed", "active", "waitlisted"])
async def test_delete_waits_for_open_enrollments(store: Storage, status: str) -> None:
    """Every status that still holds a seat, money or a place in line blocks the deletion."""
    user = await parent(store)
    child = await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    group = await build.group(store.session, await municipality(store))
    enrollment = await build.enrollment(
        store.session, group, status=status, child=child, parent=user
    )

    with pytest.raises(DomainError) as excinfo:
        await store.families.delete_child(user.id, child.id)
    assert code_of(excinfo) == "child_has_enrollments"

    enrollment.status = EnrollmentStatus.cancelled
    await store.session.commit()
    await store.families.delete_child(user.id, child.id)
    # The enrollment row stays for the municipality's figures, without the child.
    kept = await fresh(store, Enrollment, enrollment.id)
    assert kept.child_id is None


async def test_deleting_a_child_erases_their_snils_everywhere(store: Storage) -> None:
    user = await parent(store)
    child = await store.families.add_child(user.id, "Маша", date(2018, 5, 1), today=TODAY)
    place = await municipality(store)
    certificate = Certificate(
        number="4200000001",
        child_id=child.id,
        municipality_id=place.id,
        snils_encrypted="cipher",
        snils_digest="digest",
        birth_year=2018,
        status="accounting",
        period_start=date(2026, 9, 1),
        period_end=date(2027, 8, 31),
    )
    store.session.add(certificate)
    await store.session.flush()
    decided = CertificateApplication(
        parent_id=user.id,
        child_id=child.id,
        municipality_id=place.id,
        snils_encrypted="cipher",
        snils_digest="digest",
        status="approved",
        reason="Мария, СНИЛС сверен",
        certificate_id=certificate.id,
    )
    pending = CertificateApplication(
        parent_id=user.id, child_id=child.id, municipality_id=place.id, snils_encrypted="cipher"
    )
    store.session.add_all([decided, pending])
    await store.session.commit()

    await store.families.delete_child(user.id, child.id)

    kept_certificate = await fresh(store, Certificate, certificate.id)
    kept_application = await fresh(store, CertificateApplication, decided.id)
    assert (kept_certificate.child_id, kept_certificate.snils_encrypted) == (None, None)
    assert kept_certificate.snils_digest is None and kept_certificate.number == "4200000001"
    assert (kept_application.child_id, kept_application.snils_encrypted) == (None, None)
    assert kept_application.reason is None and kept_application.status == "approved"
    assert await store.session.get(CertificateApplication, pending.id) is None
