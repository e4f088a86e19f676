"""Texts rendered without a chat: Telegram's length limit on absurd data, the operator's wording.

Every result is checked with the emulator's HTML parser, which is as strict as Telegram's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from aiogram.utils.i18n import I18n
from hypothesis import given
from hypothesis import strategies as st

from bot.emulator.telegram_html import parse_html, utf16_len
from bot.i18n import create_i18n
from handlers.enrollment_texts import enrollment_card
from handlers.parent.catalog.texts import card_text
from handlers.staff.enrollments import operator_card
from handlers.ui import TELEGRAM_TEXT_LIMIT, fit_html, telegram_length
from storage.catalog import GroupInfo, ProgramCard, ProviderInfo, SlotInfo
from storage.enrollments import REASON_OFFER_DECLINED, EnrollmentView
from storage.models import Direction, EnrollmentStatus, Level, ProgramFormat, Registry

TODAY = date(2026, 9, 1)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


@pytest.fixture(params=["ru", "en"])
def locale(request: pytest.FixtureRequest, i18n: I18n) -> Iterator[str]:
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def shown(text: str) -> str:
    """What Telegram shows of an HTML text (raises as Telegram would on broken HTML)."""
    return parse_html(text).text


# --- fit_html ----------------------------------------------------------------------------------


def test_a_text_within_the_limit_is_left_alone() -> None:
    text = "<b>Робототехника &amp; 3D</b>\n" + "😀" * 100
    assert fit_html(text) == text
    assert telegram_length(text) == utf16_len(shown(text))


def test_the_cut_never_splits_an_entity_and_closes_the_tags() -> None:
    text = "<b><i>" + "a" * 4093 + "&amp;&lt;&quot;" + "b" * 50 + "</i></b> хвост"
    fitted = fit_html(text)
    assert fitted == "<b><i>" + "a" * 4093 + "&amp;&lt;…</i></b>"
    assert utf16_len(shown(fitted)) == TELEGRAM_TEXT_LIMIT


def test_the_limit_counts_utf16_units_as_telegram_does() -> None:
    fitted = fit_html("😀" * 3000)  # 6 000 units, though 3 000 characters
    assert fitted == "😀" * 2047 + "…"
    assert utf16_len(shown(fitted)) <= TELEGRAM_TEXT_LIMIT


# Escaped text with Telegram's tags around some of it: the kind of HTML the screens build.
_PIECES = st.one_of(
    st.text(alphabet=st.sampled_from("ab <>&\"'😀ё\n"), max_size=12).map(
        lambda raw: raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ),
    st.sampled_from(["<b>x</b>", '<a href="https://e.xample/?a=1&amp;b=2">ссылка</a>']),
    st.sampled_from(["<i>", "<code>", '<span class="tg-spoiler">']).flatmap(
        lambda tag: st.text(alphabet="xyz😀", max_size=8).map(
            lambda inner: f"{tag}{inner}</{tag[1:].split()[0].rstrip('>')}>"
        )
    ),
)


@given(pieces=st.lists(_PIECES, max_size=30), limit=st.integers(min_value=1, max_value=60))
def test_any_cut_is_valid_html_within_the_limit(pieces: list[str], limit: int) -> None:
    text = "<b>" + "".join(pieces) + "</b>"
    fitted = fit_html(text, limit)
    visible = shown(fitted)  # parses: no half tag or entity, nothing left open
    assert utf16_len(visible) <= limit
    if fitted != text:
        assert visible.endswith("…")
        assert shown(text).startswith(visible[:-1])  # a prefix of what was there


# --- the program card --------------------------------------------------------------------------


def _card(*, title: str, description: str, name: str, groups: list[GroupInfo]) -> ProgramCard:
    return ProgramCard(
        id=1,
        title=title,
        description=description,
        direction=Direction.technical,
        level=Level.basic,
        format=ProgramFormat.in_person,
        registry=Registry.certified,
        age_min=7,
        age_max=12,
        cost_kopecks=900_000,
        months=9,
        disability_adapted=True,
        municipality_id=1,
        address=name,
        latitude=None,
        longitude=None,
        provider=ProviderInfo(1, name, "private", name, name, name),
        groups=groups,
    )


def _group(number: int, name: str, slots: int = 1) -> GroupInfo:
    return GroupInfo(
        id=number,
        name=name,
        capacity=10,
        seats_taken=3,
        age_min=7,
        age_max=12,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=200),
        enrollment_opens_on=TODAY,
        enrollment_closes_on=TODAY + timedelta(days=10),
        slots=[SlotInfo(n % 7, time(15), time(16)) for n in range(slots)],
    )


ABSURD = '<b>&amp; "Кружок" 😀 & <i>' * 2_000  # escapes to far more than it shows


def test_a_card_of_absurd_length_is_cut_cleanly(locale: str) -> None:
    card = _card(
        title=ABSURD,
        description=ABSURD * 5,
        name=ABSURD,
        groups=[_group(n, ABSURD) for n in range(40)],
    )
    text = card_text(card, TODAY)
    visible = shown(text)  # valid HTML: no tag or entity cut in two
    assert utf16_len(visible) <= TELEGRAM_TEXT_LIMIT
    assert visible.startswith('<b>&amp; "Кружок" 😀 & <i>')  # the title, shown as typed
    # Names were shortened before escaping, so the card still has its groups.
    assert ("Группы" if locale == "ru" else "Groups") in visible
    assert "38" in visible  # "Ещё групп: 38"


def test_a_card_beyond_any_shortening_is_still_valid(locale: str) -> None:
    # Hundreds of weekly slots per group make the schedule lines alone exceed the limit; as
    # their number grows, the cut moves across names full of entities inside <b>…</b>.
    for slots in range(100, 400, 15):
        card = _card(
            title="Робототехника",
            description="",
            name="Дом творчества",
            groups=[_group(n, "&" * 150 + f" {n}", slots=slots) for n in range(5)],
        )
        visible = shown(card_text(card, TODAY))  # valid HTML wherever the cut falls
        assert utf16_len(visible) <= TELEGRAM_TEXT_LIMIT, slots
        assert visible.startswith("Робототехника") and visible.endswith("…"), slots


# --- the operator's wording --------------------------------------------------------------------


def _declined_view() -> EnrollmentView:
    return EnrollmentView(
        id=7,
        status=EnrollmentStatus.cancelled,
        child_id=1,
        child_name="Иванов Пётр",
        group_id=1,
        group_name="Группа 1",
        program_id=1,
        program_title="Робототехника",
        registry=Registry.certified,
        municipality_id=1,
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=200),
        cost_kopecks=0,
        reserved_kopecks=0,
        reason=REASON_OFFER_DECLINED,
        documents_due=None,
        offer_expires_at=None,
        created_at=datetime(2026, 8, 1, 5, 0, tzinfo=UTC),
    )


def test_a_declined_offer_is_worded_for_whoever_reads_it(locale: str) -> None:
    view = _declined_view()
    parent, operator = enrollment_card(view), operator_card(view)
    you, they = {
        "ru": ("Вы отказались", "Родитель отказался"),
        "en": ("You declined", "The parent declined"),
    }[locale]
    assert you in parent and they not in parent
    assert they in operator and you not in operator
