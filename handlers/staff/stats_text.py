"""The indicators message: the few figures that matter, ▲▼ against half a year ago and the target.

Every number comes from one ``IndicatorReport`` (storage.indicators); the chart and the workbook
(handlers/staff/stats_files.py) read the same object and the same ``figure`` helpers.
"""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel import Locale
from babel.numbers import format_decimal, format_percent

from handlers.callbacks import MenuAction, MenuCb
from handlers.formatting import current_locale, day
from handlers.notifications import register, register_keyboard
from handlers.ui import button, with_home
from storage.indicators import Area, Indicator, IndicatorReport, Share
from storage.indicators.repo import HEADLINE, REPORT_KIND

# What the message shows, in this order (the rest is in the workbook).
MESSAGE_INDICATORS = (
    Indicator.coverage,
    Indicator.tech_science,
    Indicator.funded,
    Indicator.certified,
    Indicator.disability_adapted,
)


def indicator_name(indicator: Indicator) -> str:
    return {
        Indicator.coverage: _("Охват дополнительным образованием"),
        Indicator.tech_science: _("В технических и естественнонаучных программах"),
        Indicator.funded: _("С сертификатом ПФ"),
        Indicator.certified: _("С любым сертификатом"),
        Indicator.disability_adapted: _("В программах, адаптированных для детей с ОВЗ"),
        Indicator.financing: _("Муниципалитетов с персонифицированным финансированием"),
    }[indicator]


def short_name(indicator: Indicator) -> str:
    return {
        Indicator.coverage: _("Охват"),
        Indicator.tech_science: _("Тех. и естнауч."),
        Indicator.funded: _("Сертификат ПФ"),
        Indicator.certified: _("Любой сертификат"),
        Indicator.disability_adapted: _("ОВЗ"),
        Indicator.financing: _("ПФ в МО"),
    }[indicator]


def percent(value: Decimal | None) -> str:
    """``76,2 %`` / ``76.2%``; "нет данных" when the share cannot be computed."""
    if value is None:
        return _("нет данных")
    locale = Locale.parse(current_locale())
    pattern = locale.percent_formats[None].pattern  # "#,##0 %" in ru, "#,##0%" in en
    return format_percent(value / 100, format=pattern.replace("0", "0.0", 1), locale=locale)


def number(value: int) -> str:
    return format_decimal(value, locale=current_locale())


def points(delta: Decimal) -> str:
    """A difference of shares in percentage points, signed, with its arrow."""
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    shown = format_decimal(abs(delta), format="#,##0.0", locale=current_locale())
    return f"{arrow}{shown}"


def area_title(area: Area) -> str:
    return html.escape(area.name) if area.name else _("Регион")


def figure_line(report: IndicatorReport, area: Area, indicator: Indicator) -> str:
    """``Охват: 76,2 % (1 234) ▲1,3 за полгода · цель 77 % ▼0,8``."""
    share = area.share(indicator)
    before = area.share(indicator, area.half_year_ago)
    return _line(report, area, indicator, share, before)


def financing_line(report: IndicatorReport) -> str:
    return _line(
        report, report.region, Indicator.financing, report.financing(), report.financing(0)
    )


def _line(
    report: IndicatorReport, area: Area, indicator: Indicator, share: Share, before: Share
) -> str:
    parts = [
        _("{name}: <b>{value}</b> ({count})").format(
            name=indicator_name(indicator), value=percent(share.percent), count=number(share.count)
        )
    ]
    if share.percent is not None and before.percent is not None:
        parts.append(_("{delta} за полгода").format(delta=points(share.percent - before.percent)))
    target = report.target(indicator, area)
    if target is not None:
        text = _("цель {target}").format(target=percent(target.percent))
        if share.percent is not None:
            text += " " + points(share.percent - target.percent)
        parts.append(text)
    return " · ".join(parts)


def render_report(report: IndicatorReport, area: Area) -> str:
    """The message for one municipality (compared with the region) or for the region."""
    lines = [
        _("<b>📊 Показатели · {area}</b>").format(area=area_title(area)),
        _("Состояние на {day}; ▲▼ — изменение за полгода и до цели, п. п.").format(
            day=day(report.on)
        ),
        "",
    ]
    if area.children is None:
        lines.append(_("Детей 5–18 лет: нет данных — укажите число кнопкой «✏️ Детей 5–18»."))
    else:
        lines.append(_("Детей 5–18 лет: {n}").format(n=number(area.children)))
    lines += [figure_line(report, area, indicator) for indicator in MESSAGE_INDICATORS]
    if area.id is not None:
        region = report.region.share(Indicator.coverage)
        lines.append(_("Охват по региону: {value}").format(value=percent(region.percent)))
    else:
        lines.append(financing_line(report))
        missing = report.without_children_data
        if missing:
            lines.append(
                _("Без данных о числе детей ({n}): {names} — в региональные доли не вошли.").format(
                    n=len(missing),
                    names=html.escape(", ".join(missing[:5]) + ("…" if len(missing) > 5 else "")),
                )
            )
    lines += ["", *_catalogue_lines(area), "", *_service_lines(area, report)]
    lines += ["", _honest_note()]
    return "\n".join(lines)


def _catalogue_lines(area: Area) -> list[str]:
    catalogue = area.catalogue
    private = catalogue.providers_by_kind.get("private", 0) + catalogue.providers_by_kind.get(
        "entrepreneur", 0
    )
    tech = catalogue.by_direction.get("technical", 0) + catalogue.by_direction.get(
        "natural_science", 0
    )
    return [
        _("Программ сейчас: {n}, из них тех. и естнауч. {tech}, для детей с ОВЗ {adapted}").format(
            n=number(catalogue.programs), tech=number(tech), adapted=number(catalogue.adapted)
        ),
        _("Дистанционных: {distance}, сетевых: {network}").format(
            distance=number(catalogue.by_format.get("distance", 0)),
            network=number(catalogue.by_format.get("network", 0)),
        ),
        _("Поставщиков: {n}, частных и ИП: {share}").format(
            n=number(catalogue.providers),
            share=percent(Share(private, catalogue.providers).percent),
        ),
    ]


def _service_lines(area: Area, report: IndicatorReport) -> list[str]:
    service = area.service
    lines = [
        _("Заявлений на сертификат ждут: {n}").format(n=number(service.pending))
        + (
            _(", старейшее — {days} дн.").format(days=service.oldest_pending_days)
            if service.oldest_pending_days is not None
            else ""
        ),
        _("Решений за неделю: {n}; медиана до решения: {hours}").format(
            n=number(service.decisions_week),
            hours=_("{h} ч").format(
                h=format_decimal(round(service.median_decision_hours, 1), locale=current_locale())
            )
            if service.median_decision_hours is not None
            else _("нет данных"),
        ),
    ]
    if service.enrollments_now:
        active = service.enrollments_now.get("active", 0)
        waiting = service.enrollments_now.get("submitted", 0) + service.enrollments_now.get(
            "waitlisted", 0
        )
        lines.append(
            _("Зачислений: обучаются {active}, ждут {waiting}, всего {total}").format(
                active=number(active),
                waiting=number(waiting),
                total=number(sum(service.enrollments_now.values())),
            )
        )
    return lines


def _honest_note() -> str:
    return _(
        "<i>Считаются только дети и программы, которые знает навигатор: обучение вне его "
        "программ сюда не попадает. Охват рассылок пока не измеряется.</i>"
    )


def render_ranking(report: IndicatorReport, indicator: Indicator) -> str:
    lines = [
        _("<b>🏆 {name}</b>").format(name=indicator_name(indicator)),
        _("Состояние на {day}").format(day=day(report.on)),
        "",
    ]
    for place, (area, share) in enumerate(report.ranking(indicator), start=1):
        lines.append(f"{place}. {area_title(area)} — {percent(share.percent)}")
    target = report.target(indicator, report.region)
    if target is not None:
        lines += ["", _("Цель региона: {target}").format(target=percent(target.percent))]
    return "\n".join(lines)


# --- the twice-yearly report (storage.indicators.repo.queue_scheduled) --------------------------


@register(REPORT_KIND)
def _scheduled(params: dict[str, Any]) -> str:
    """The numbers were computed on the report day; the reader's language is applied now."""
    lines = [
        _("<b>📊 Отчёт по показателям · {area}</b>").format(
            area=html.escape(params["municipality"])
        ),
        _("Состояние на {day}; к РМЦ — не реже двух раз в год.").format(
            day=day(date.fromisoformat(params["on"]))
        ),
        "",
    ]
    if params.get("children") is None:
        lines.append(_("Детей 5–18 лет: нет данных — укажите число в «📊 Показатели»."))
    for indicator in HEADLINE:
        figure = params["figures"][indicator.value]
        value = _decimal(figure["percent"])
        parts = [
            _("{name}: <b>{value}</b> ({count})").format(
                name=indicator_name(indicator), value=percent(value), count=number(figure["count"])
            )
        ]
        previous, target = _decimal(figure["previous"]), _decimal(figure["target"])
        if value is not None and previous is not None:
            parts.append(_("{delta} за полгода").format(delta=points(value - previous)))
        if target is not None:
            parts.append(
                _("цель {target}").format(target=percent(target))
                + (" " + points(value - target) if value is not None else "")
            )
        lines.append(" · ".join(parts))
    lines += ["", _("График и таблица XLSX — в «📊 Показатели».")]
    return "\n".join(lines)


@register_keyboard(REPORT_KIND)
def _scheduled_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([[button(_("📊 Показатели"), MenuCb(action=MenuAction.stats))]])


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None
