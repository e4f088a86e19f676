"""What the catalogue says: localized names, list lines and the program card.

Everything from the database goes through ``html.escape`` (HTML is the default parse mode).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date

from aiogram.utils.i18n import gettext as _
from babel.units import format_unit

from handlers.formatting import age_range, current_locale, day, money, number, schedule_text
from handlers.labels import direction_title
from handlers.parent.catalog.callbacks import FORMATS, LEVELS, PRICES, CatalogCb
from handlers.ui import TELEGRAM_TEXT_LIMIT, fit_html, telegram_length
from storage.catalog import CatalogPage, GroupInfo, ProgramCard, ProgramRow, is_free
from storage.models import Level, ProgramFormat, ProviderKind, Registry
from storage.search.details import LineDetails

DESCRIPTION_MAX = 700
FIELD_MAX_SHORT = 200  # each name, address and contact on a card that would not fit otherwise
GROUPS_SHOWN = 5
BUTTON_TITLE_MAX = 40
PROVIDER_IN_LIST_MAX = 40  # a list line's provider and street, each


def level_name(level: Level) -> str:
    names = {
        Level.intro: _("ознакомительный"),
        Level.basic: _("базовый"),
        Level.advanced: _("продвинутый"),
    }
    return names[level]


def format_name(program_format: ProgramFormat) -> str:
    names = {
        ProgramFormat.in_person: _("очно"),
        ProgramFormat.distance: _("дистанционно"),
        ProgramFormat.network: _("сетевая форма"),
    }
    return names[program_format]


def registry_name(registry: Registry) -> str:
    names = {
        Registry.certified: _("сертифицированные программы (оплата сертификатом ПФ)"),
        Registry.preprofessional: _("предпрофессиональные программы (за счёт бюджета)"),
        Registry.significant: _("значимые программы (за счёт бюджета)"),
        Registry.general: _("общеразвивающие программы (за счёт бюджета)"),
    }
    return names[registry]


def provider_kind_name(kind: str) -> str:
    names: dict[str, str] = {
        ProviderKind.state: _("государственная организация"),
        ProviderKind.municipal: _("муниципальная организация"),
        ProviderKind.private: _("частная организация"),
        ProviderKind.entrepreneur: _("индивидуальный предприниматель"),
    }
    return names.get(kind, "")


def price_filter_name(index: int) -> str:
    names = [_("Бесплатно"), _("По сертификату"), _("Платные")]
    return names[index - 1]


def format_filter_name(index: int) -> str:
    names = [_("Очно"), _("Дистанционно")]
    return names[index - 1]


def level_filter_name(index: int) -> str:
    level = LEVELS[index]
    assert level is not None
    return level_name(level).capitalize()


def adapted_filter_name() -> str:
    return _("♿ Для детей с ОВЗ")


def active_filters_line(cb: CatalogCb) -> str | None:
    parts = []
    if PRICES[cb.price] is not None:
        parts.append(price_filter_name(cb.price).lower())
    if FORMATS[cb.fmt] is not None:
        parts.append(format_filter_name(cb.fmt).lower())
    if LEVELS[cb.level] is not None:
        parts.append(level_filter_name(cb.level).lower())
    if cb.adapted:
        parts.append(_("для детей с ОВЗ"))
    if not parts:
        return None
    return _("Фильтры: {filters}").format(filters=", ".join(parts))


def age_line(age: int) -> str:
    return _("Возраст: {age}").format(age=age) if age else _("Любой возраст")


def cost_short(row: ProgramRow) -> str:
    """The price in a list line."""
    if is_free(row.registry, row.cost_kopecks):
        return _("бесплатно")
    if row.registry is Registry.certified:
        return _("сертификат ПФ: {cost}").format(cost=money(row.cost_kopecks))
    return money(row.cost_kopecks)


def cost_line(card: ProgramCard) -> str:
    """What it costs, in words, for the card."""
    if is_free(card.registry, card.cost_kopecks):
        return _("бесплатно")
    if card.registry is Registry.certified:
        text = _("оплачивается сертификатом ПФ: {cost} за период").format(
            cost=money(card.cost_kopecks)
        )
    else:
        text = _("{cost} за период").format(cost=money(card.cost_kopecks))
    if card.months > 1:
        monthly = card.cost_kopecks // card.months
        text += " " + _("({monthly} в месяц)").format(monthly=money(monthly))
    return text


def distance_text(km: float) -> str:
    return format_unit(
        round(km, 1), "length-kilometer", length="short", format="#,##0.0", locale=current_locale()
    )


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:—-")
    return cut + "…"


def button_title(number: int, row: ProgramRow, suffix: str = "") -> str:
    return f"{number}. {shorten(row.title, BUTTON_TITLE_MAX)}{suffix}"


def list_line(
    number: int,
    row: ProgramRow,
    distance_km: float | None = None,
    place: LineDetails | None = None,
) -> str:
    details = [age_range(row.age_min, row.age_max), cost_short(row), format_name(row.format)]
    if distance_km is not None:
        details.insert(0, distance_text(distance_km))
    if row.disability_adapted:
        details.append(_("ОВЗ"))
    title = html.escape(row.title)
    line = f"{number}. <b>{title}</b>\n    " + html.escape(" · ".join(details))
    return line + (where_line(place) if place else "")


def where_line(place: LineDetails) -> str:
    """Who runs it, where, and free seats: same-titled programs told apart (issue 12)."""
    parts = [shorten(place.provider, PROVIDER_IN_LIST_MAX)]
    if place.address:
        parts.append(shorten(place.address, PROVIDER_IN_LIST_MAX))
    if place.free_seats is not None:
        parts.append(free_seats_text(place.free_seats))
    return "\n    " + html.escape(" · ".join(parts))


def free_seats_text(seats: int) -> str:
    if seats == 0:
        return _("мест нет")
    return _("свободно мест: {n}").format(n=seats)  # a count with a colon: no plural forms


def list_text(
    header: Sequence[str],
    rows: Sequence[ProgramRow],
    first_number: int,
    distances: dict[int, float] | None = None,
    places: dict[int, LineDetails] | None = None,
) -> str:
    lines = [*header, ""]
    for offset, row in enumerate(rows):
        distance = distances.get(row.id) if distances else None
        place = places.get(row.id) if places else None
        lines.append(list_line(first_number + offset, row, distance, place))
    return "\n".join(lines)


def search_notes(page: CatalogPage) -> list[str]:
    """Lines under a search list's header: partial matches, words read as typos."""
    info = page.search
    if info is None:
        return []
    notes = []
    if info.typos and page.total:
        notes.append(
            _("Искали также: {words}").format(words=html.escape(", ".join(info.typos[:3])))
        )
    if info.partial:
        notes.append(_("Всех слов вместе нет ни в одной программе. Лучшие частичные совпадения:"))
    return notes


def found_line(page: CatalogPage) -> str:
    """How many the list has; a search past ``RESULTS_MAX`` matches lists its best ones."""
    if page.search is not None and page.search.more:
        return _("Найдено: больше {count}, показаны самые подходящие.").format(
            count=number(page.total)
        )
    return _("Найдено: {count}").format(count=page.total)


# --- the card --------------------------------------------------------------------------------


def window_text(group: GroupInfo, today: date) -> str:
    if group.window_open(today):
        return _("запись открыта до {date}").format(date=day(group.enrollment_closes_on))
    if today < group.enrollment_opens_on:
        return _("запись с {date}").format(date=day(group.enrollment_opens_on))
    return _("запись закрыта")


def _clip(text: str, limit: int | None) -> str:
    return shorten(text, limit) if limit else text


def group_text(group: GroupInfo, today: date, *, name_max: int | None = None) -> str:
    name = html.escape(_clip(group.name, name_max))
    lines = [f"• <b>{name}</b>, {age_range(group.age_min, group.age_max)}"]
    if group.slots:
        lines.append("  🗓 " + html.escape(schedule_text(group.slots)))
    lines.append(
        "  "
        + _("Занятия: {start} — {end}").format(start=day(group.starts_on), end=day(group.ends_on))
    )
    seats = _("Свободных мест: {free} из {capacity}").format(
        free=group.free_seats, capacity=group.capacity
    )
    lines.append(f"  {seats} · {window_text(group, today)}")
    return "\n".join(lines)


def card_text(card: ProgramCard, today: date, *, description_max: int = DESCRIPTION_MAX) -> str:
    """The program card, within Telegram's 4 096 characters whatever the data."""
    text = _card_text(card, today, description_max, GROUPS_SHOWN)
    if telegram_length(text) > TELEGRAM_TEXT_LIMIT:
        # Huge names or addresses: drop the description and most groups, shorten the rest
        # (as plain text, before escaping, so no tag or entity is cut).
        text = _card_text(card, today, 0, 2, field_max=FIELD_MAX_SHORT)
    return fit_html(text)  # the last resort, for data beyond any reason: a clean HTML cut


def _card_text(
    card: ProgramCard,
    today: date,
    description_max: int,
    groups_shown: int,
    *,
    field_max: int | None = None,
) -> str:
    def e(text: str) -> str:
        return html.escape(_clip(text, field_max))

    facts = [
        direction_title(card.direction),
        _("уровень: {level}").format(level=level_name(card.level)),
        format_name(card.format),
    ]
    lines = [f"<b>{e(card.title)}</b>", " · ".join(facts)]
    ages = _("👧 Возраст: {ages}").format(ages=age_range(card.age_min, card.age_max))
    if card.disability_adapted:
        ages += " · " + _("♿ адаптирована для детей с ОВЗ")
    lines.append(ages)
    lines.append(_("📋 Реестр: {registry}").format(registry=registry_name(card.registry)))
    lines.append(_("💰 Стоимость: {cost}").format(cost=cost_line(card)))
    provider = card.provider
    kind = provider_kind_name(provider.kind)
    lines.append(f"🏫 {e(provider.name)}" + (f" — {kind}" if kind else ""))
    if card.address:
        lines.append(f"📍 {e(card.address)}")
    contacts = []
    if provider.phone:
        contacts.append(f"📞 {e(provider.phone)}")
    if provider.email:
        contacts.append(f"✉️ {e(provider.email)}")
    if contacts:
        lines.append(" · ".join(contacts))
    if provider.website:
        lines.append(f"🌐 {e(provider.website)}")
    if card.description and description_max > 0:
        lines += ["", e(shorten(card.description, description_max))]
    lines += ["", _("<b>Группы</b>")]
    if not card.groups:
        lines.append(_("Набор в группы пока не объявлен."))
    for group in card.groups[:groups_shown]:
        lines.append(group_text(group, today, name_max=field_max))
    hidden = len(card.groups) - groups_shown
    if hidden > 0:
        lines.append(_("Ещё групп: {count}").format(count=hidden))
    return "\n".join(lines)
