"""The chart (PNG) and the monitoring workbook (XLSX) of an ``IndicatorReport``.

Both are CPU work: callers run them through ``asyncio.to_thread`` (contextvars, and with them
the reader's locale, follow the thread). Each call builds its own matplotlib ``Figure`` on the
Agg canvas: no pyplot, no global state shared between threads.

The ranking's municipality names are the chart's costliest text (34 labels: matplotlib lays out
and rasterises each on every draw, ~10 ms a label). They are rasterised once per name and size
by Pillow (matplotlib's own dependency and font) and placed as one pixel-exact image.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from io import BytesIO

import numpy as np
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageFont

from handlers.formatting import current_locale
from handlers.staff.stats_text import area_title, indicator_name, short_name
from storage.indicators import Area, Indicator, IndicatorReport
from storage.indicators.report import CHILD_SHARES
from storage.models import Direction, Level, ProgramFormat, ProviderKind

PERCENT_FORMAT = "0.0"
DPI = 80
LABEL_PX = 9  # the ranking's names, in pixels (at most the height of a bar's row)
LABEL_GAP_PX = 4


@dataclass(frozen=True)
class Series:
    """One line of the chart: a share per month (None where it cannot be computed)."""

    label: str
    days: tuple[date, ...]
    values: tuple[float | None, ...]


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def coverage_series(report: IndicatorReport, area: Area) -> list[Series]:
    """The chart's lines: the area's coverage by month, and the region's beside a municipality."""
    areas = [area] if area.id is None else [area, report.region]
    return [
        Series(
            label=area_title(a),
            days=report.points,
            values=tuple(_float(share.percent) for _day, share in a.coverage_by_month()),
        )
        for a in areas
    ]


def ranked(report: IndicatorReport) -> list[tuple[str, float]]:
    """Municipalities by coverage (those with data), for the administrator's second panel."""
    return [
        (area.name or "", float(share.percent))
        for area, share in report.ranking(Indicator.coverage)
        if share.percent is not None
    ]


def draw_chart(report: IndicatorReport, area: Area) -> Figure:
    """Coverage by month against the target line; for the region, the municipalities ranked.

    Drawn for a phone screen and for speed: months as category labels (no date locators),
    fixed margins instead of tight_layout, a modest resolution.
    """
    with_ranking = report.scope is None and area.id is None
    figure = Figure(figsize=(8, 9 if with_ranking else 4), dpi=DPI)
    FigureCanvasAgg(figure)
    if with_ranking:
        figure.subplots_adjust(left=0.3, right=0.97, top=0.95, bottom=0.04, hspace=0.25)
    else:
        figure.subplots_adjust(left=0.08, right=0.97, top=0.9, bottom=0.12)
    axes = figure.add_subplot(2 if with_ranking else 1, 1, 1)
    for series in coverage_series(report, area):
        xs = [i for i, v in enumerate(series.values) if v is not None]
        axes.plot(xs, [v for v in series.values if v is not None], marker="o", label=series.label)
    target = report.target(Indicator.coverage, area)
    if target is not None:
        axes.axhline(
            float(target.percent),
            linestyle="--",
            color="tab:red",
            label=_("Цель {value} %").format(value=target.percent),
        )
    months = report.points
    axes.set_xticks(range(len(months)), [month_label(d) for d in months])
    axes.set_title(_("Охват детей 5–18 лет по месяцам, %"), y=1.0)  # y: no title autoplacement
    axes.set_ylim(bottom=0)
    axes.legend(loc="lower right", fontsize="small")
    axes.grid(alpha=0.3)
    if with_ranking:
        _draw_ranking(figure, figure.add_subplot(2, 1, 2), ranked(report))
    return figure


def _draw_ranking(figure: Figure, bars: Axes, rows: Sequence[tuple[str, float]]) -> None:
    """Bars leader on top; the names beside them as one image, not as tick labels."""
    bottom_up = rows[::-1]  # barh draws bottom-up
    bars.barh(range(len(bottom_up)), [value for _name, value in bottom_up], height=0.8)
    bars.set_ylim(-0.5, max(len(bottom_up), 1) - 0.5)
    bars.set_yticks([])
    bars.set_title(_("Муниципалитеты по охвату, %"), y=1.0)
    if not rows:
        return
    box = bars.get_position()  # figure fractions, fixed by subplots_adjust: no layout pass
    width, height = figure.get_size_inches() * figure.dpi
    left, bottom = round(box.x0 * width), round(box.y0 * height)
    column = label_column(
        [name for name, _value in rows], left - LABEL_GAP_PX, round(box.height * height)
    )
    figure.figimage(column, xo=0, yo=bottom, origin="upper")


def label_column(names: Sequence[str], width: int, height: int) -> np.ndarray:
    """The names right-aligned one under another, each centred on its bar's row: RGBA pixels."""
    canvas = Image.new("L", (max(width, 1), max(height, 1)), 0)
    row = height / len(names)
    size = max(1, min(LABEL_PX, int(row)))
    for i, name in enumerate(names):
        mask = label_image(name, size)
        x = max(0, width - mask.width)
        canvas.paste(mask, (x, round((i + 0.5) * row - mask.height / 2)))
    alpha = np.asarray(canvas, dtype=np.uint8)
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)  # black text, coverage as alpha
    rgba[..., 3] = alpha
    return rgba


_labels_lock = threading.Lock()  # one FreeType face is shared by the chart threads


@lru_cache(maxsize=512)  # 34 names × languages × a size or two
def label_image(text: str, size: int) -> Image.Image:
    with _labels_lock:
        font = _font(size)
        left, top, right, bottom = font.getbbox(text)
        image = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
        ImageDraw.Draw(image).text((-left, -top), text, font=font, fill=255)
        return image


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def month_label(day: date) -> str:
    return format_date(day, "LLL yy", locale=current_locale())


def chart_png(report: IndicatorReport, area: Area) -> bytes:
    buffer = BytesIO()
    # Fast zlib level: the chart is sent once; a few kilobytes more cost nothing.
    draw_chart(report, area).savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# --- the workbook ------------------------------------------------------------------------------


def indicator_rows(report: IndicatorReport) -> list[Area]:
    """The areas the workbook lists: the region, then the municipalities the viewer may see."""
    visible = [m for m in report.municipalities if report.scope in (None, m.id)]
    return [report.region, *visible]


def build_workbook(report: IndicatorReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Показатели")
    header = [_("Муниципалитет"), _("Детей 5–18 лет")]
    for indicator in CHILD_SHARES:
        name = short_name(indicator)
        header += [
            _("{name}: детей").format(name=name),
            _("{name}, %").format(name=name),
            _("{name}, % полгода назад").format(name=name),
            _("{name}: цель, %").format(name=name),
        ]
    sheet.append(header)
    for area in indicator_rows(report):
        row: list[object] = [area_title(area), area.children]
        for indicator in CHILD_SHARES:
            target = report.target(indicator, area)
            row += [
                area.share(indicator).count,
                _float(area.share(indicator).percent),
                _float(area.share(indicator, area.half_year_ago).percent),
                _float(target.percent) if target else None,
            ]
        sheet.append(row)
    financing = report.financing()
    sheet.append([])
    sheet.append([indicator_name(Indicator.financing), financing.count, _float(financing.percent)])
    sheet.append([_("Состояние на"), report.on])
    _programs_sheet(book, report)
    _certificates_sheet(book, report)
    for each in book.worksheets:
        for column in each.iter_cols(min_col=2):
            for cell in column:
                if isinstance(cell.value, float):
                    cell.number_format = PERCENT_FORMAT
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _programs_sheet(book: Workbook, report: IndicatorReport) -> None:
    sheet = book.create_sheet(_("Программы"))
    sheet.append(
        [_("Муниципалитет"), _("Всего")]
        + [str(d) for d in Direction]
        + [str(f) for f in ProgramFormat]
        + [str(level) for level in Level]
        + [_("Для детей с ОВЗ")]
        + [_("Поставщики: {kind}").format(kind=str(k)) for k in ProviderKind]
    )
    for area in indicator_rows(report):
        c = area.catalogue
        sheet.append(
            [area_title(area), c.programs]
            + [c.by_direction.get(d, 0) for d in Direction]
            + [c.by_format.get(f, 0) for f in ProgramFormat]
            + [c.by_level.get(level, 0) for level in Level]
            + [c.adapted]
            + [c.providers_by_kind.get(k, 0) for k in ProviderKind]
        )


def _certificates_sheet(book: Workbook, report: IndicatorReport) -> None:
    sheet = book.create_sheet(_("Сертификаты"))
    sheet.append(
        [
            _("Муниципалитет"),
            _("С сертификатом ПФ"),
            _("С любым сертификатом"),
            _("Заявлений ждут"),
            _("Старейшее, дн."),
            _("Решений за неделю"),
            _("Медиана до решения, ч"),
        ]
    )
    for area in indicator_rows(report):
        s = area.service
        sheet.append(
            [
                area_title(area),
                area.now.funded,
                area.now.certified,
                s.pending,
                s.oldest_pending_days,
                s.decisions_week,
                s.median_decision_hours,
            ]
        )
