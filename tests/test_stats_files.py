"""The message, the chart and the workbook come from one computation and say the same numbers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.i18n import create_i18n
from handlers.staff.stats_files import (
    build_workbook,
    chart_png,
    coverage_series,
    draw_chart,
    label_column,
    label_image,
    ranked,
)
from handlers.staff.stats_text import percent, render_report
from storage import Storage
from storage.indicators import Area, Indicator, IndicatorReport
from tests.support.indicators import DAY, Region, aged


@pytest.fixture
def russian() -> Iterator[None]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        yield


async def _report(store: Storage) -> tuple[IndicatorReport, Area]:
    region = Region(store)
    town = await region.municipality("Юрга", children=40)
    other = await region.municipality("Тайга", children=10)
    arts = await region.program(town)
    for n in range(6):  # two a month from January: the series climbs
        kid = await region.child(town, aged(9 + n % 5))
        await region.study(kid, arts, date(2026, 1 + n // 2, 5))
    await region.study(
        await region.child(other, aged(7)), await region.program(other), date(2026, 2, 1)
    )
    report = await store.indicators.report(await region.admin(), DAY)
    return report, report.area(town)


async def test_message_chart_and_workbook_agree(store: Storage, russian: None) -> None:
    report, town = await _report(store)
    text = render_report(report, town)
    figure = draw_chart(report, town)
    lines = figure.axes[0].get_lines()
    plotted = [list(line.get_ydata()) for line in lines[:2]]  # the town, the region
    expected = [
        [float(share.percent or 0) for _day, share in area.coverage_by_month()]
        for area in (town, report.region)
    ]
    assert plotted == expected
    assert plotted[0] == [0.0, 0.0, 5.0, 10.0, 15.0, 15.0, 15.0]  # 2 children a month of 40
    target_line = lines[2]
    assert list(target_line.get_ydata()) == [77.0, 77.0]
    shown = percent(town.share(Indicator.coverage).percent)
    assert f"Охват дополнительным образованием: <b>{shown}</b> (6)" in text
    assert Decimal(str(plotted[0][-1])) == town.share(Indicator.coverage).percent
    book = load_workbook(BytesIO(build_workbook(report)))
    rows = {row[0]: row for row in book["Показатели"].iter_rows(values_only=True) if row}
    header = list(rows["Муниципалитет"])
    assert rows["Юрга"][header.index("Охват, %")] == plotted[0][-1]
    assert rows["Юрга"][header.index("Охват, % полгода назад")] == plotted[0][0]
    assert rows["Регион"][header.index("Охват, %")] == plotted[1][-1]
    assert rows["Регион"][header.index("Охват: детей")] == 7
    assert coverage_series(report, town)[0].values[-1] == plotted[0][-1]


async def test_files_are_built_in_threads_at_once(store: Storage, russian: None) -> None:
    report, town = await _report(store)
    pngs = await asyncio.gather(
        *(asyncio.to_thread(chart_png, report, area) for area in (town, report.region) * 2)
    )
    assert all(png.startswith(b"\x89PNG") for png in pngs)
    assert pngs[0] == pngs[2] and pngs[1] == pngs[3]  # no state leaks between figures
    xlsx = await asyncio.to_thread(build_workbook, report)
    assert load_workbook(BytesIO(xlsx)).sheetnames == ["Показатели", "Программы", "Сертификаты"]


def test_label_column_puts_each_name_on_its_row() -> None:
    names = ["Юрга", "Тайга", "город Кемерово"]
    column = label_column(names, width=120, height=60)
    assert column.shape == (60, 120, 4)
    inked = column[..., 3] > 0
    rows = [inked[20 * i : 20 * (i + 1)].any() for i in range(3)]
    assert rows == [True, True, True]  # one name in each third, none spilling over the edges
    assert not inked[0].any() and not inked[-1].any()
    assert inked[:, -1].any() or inked[:, -2].any() or inked[:, -3].any()  # right-aligned
    longest = inked[40:60].any(axis=0).nonzero()[0]
    shortest = inked[0:20].any(axis=0).nonzero()[0]
    assert longest[0] < shortest[0]  # the longer name starts further left


async def test_ranking_names_are_one_image_rendered_once(store: Storage, russian: None) -> None:
    report, _town = await _report(store)
    figure = draw_chart(report, report.region)
    bars = figure.axes[1]
    assert [label.get_text() for label in bars.get_yticklabels()] == []
    assert len(figure.images) == 1
    widths = [patch.get_width() for patch in bars.patches][::-1]  # the leader on top
    assert widths == [value for _name, value in ranked(report)]
    before = label_image.cache_info().hits
    chart_png(report, report.region)
    assert label_image.cache_info().hits >= before + len(ranked(report))
