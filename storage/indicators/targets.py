"""The targets the seeds set, as data: the one place the numbers live (docs/INDICATORS.md
quotes them next to their sources).

A target applies from its year on until a later one replaces it; before the first year the
first one applies (the region measured itself against 2019's target from the start).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Indicator(StrEnum):
    """The shares the report compares with targets and ranks municipalities by."""

    coverage = "coverage"  # охват: children 5–17 with an active enrollment ÷ children 5–17
    tech_science = "tech_science"  # of them in technical and natural-science programs
    funded = "funded"  # children with a funded (ПФ) certificate ÷ children
    certified = "certified"  # children with any certificate ÷ children
    disability_adapted = "disability_adapted"  # in programs adapted for children with ОВЗ
    financing = "financing"  # municipalities with personified financing ÷ all (region only)


@dataclass(frozen=True)
class Target:
    indicator: Indicator
    year: int
    percent: Decimal
    source: str  # the seed and the place in it
    municipality: str | None = None  # None: the region's target, also each municipality's


REGION_BASELINE_COVERAGE = Decimal("75.9")  # 000 §1: «по итогам 2017 года-75,9%»

_ORDER_484 = "000 приложение 2"
_ORDER_212 = "002 §4"
_ROAD_MAP = "004 «Ожидаемые результаты»"
_LENINSK = "Ленинск-Кузнецкий муниципальный район"

TARGETS: tuple[Target, ...] = (
    # 000 appendix 2, item 5: «Увеличение числа детей … от 5 до 18 лет, охваченных …» 76 / 76,5 / 77.
    Target(Indicator.coverage, 2019, Decimal("76"), f"{_ORDER_484}, п. 5"),
    Target(Indicator.coverage, 2020, Decimal("76.5"), f"{_ORDER_484}, п. 5"),
    Target(Indicator.coverage, 2021, Decimal("77"), f"{_ORDER_484}, п. 5"),
    # Item 5 «в т.ч. … технической и естественнонаучной направленностей» 15 / 17 / 20.
    Target(Indicator.tech_science, 2019, Decimal("15"), f"{_ORDER_484}, п. 5"),
    Target(Indicator.tech_science, 2020, Decimal("17"), f"{_ORDER_484}, п. 5"),
    Target(Indicator.tech_science, 2021, Decimal("20"), f"{_ORDER_484}, п. 5"),
    # Item 1.2 «Доля детей …, охваченных системой персонифицированного финансирования» 25/30/35
    # (002 §4: «не менее 25 процентов» by 31.12.2019, «не менее 35 процентов» by 31.12.2020).
    Target(Indicator.funded, 2019, Decimal("25"), f"{_ORDER_484}, п. 1.2; {_ORDER_212}"),
    Target(Indicator.funded, 2020, Decimal("30"), f"{_ORDER_484}, п. 1.2"),
    Target(Indicator.funded, 2021, Decimal("35"), f"{_ORDER_484}, п. 1.2; {_ORDER_212}"),
    # Item 1.1 «Доля муниципальных образований …, внедривших систему ПФ» 50 / 55 / 60;
    # (002 §4 asks more: «не менее 50 процентов» by 31.12.2019, «все муниципалитеты» by
    # 31.12.2020; docs/INDICATORS.md shows both, the table's numbers are the ones compared.)
    Target(Indicator.financing, 2019, Decimal("50"), f"{_ORDER_484}, п. 1.1; {_ORDER_212}"),
    Target(Indicator.financing, 2020, Decimal("55"), f"{_ORDER_484}, п. 1.1"),
    Target(Indicator.financing, 2021, Decimal("60"), f"{_ORDER_484}, п. 1.1"),
    # 003 §1.7 reports children with ОВЗ at 0,9 % against the road map's 0,9 %.
    Target(Indicator.disability_adapted, 2019, Decimal("0.9"), "003 §1.7 (дорожная карта)"),
    # 004: one municipality's road map: «не менее 67%», ПФ «не менее - 11%».
    Target(Indicator.coverage, 2020, Decimal("67"), _ROAD_MAP, _LENINSK),
    Target(Indicator.funded, 2020, Decimal("11"), _ROAD_MAP, _LENINSK),
)


def target_for(indicator: Indicator, year: int, municipality: str | None = None) -> Target | None:
    """The target in force in ``year``: the municipality's own if it has one, else the region's."""
    for scope in (municipality, None) if municipality else (None,):
        rows = sorted(
            (t for t in TARGETS if t.indicator == indicator and t.municipality == scope),
            key=lambda t: t.year,
        )
        if rows:
            in_force = [t for t in rows if t.year <= year]
            return in_force[-1] if in_force else rows[0]
    return None
