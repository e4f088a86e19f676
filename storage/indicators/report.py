"""The result of one indicator computation: the message, the chart and the workbook all read it.

Nothing here queries the database; ``storage.indicators.compute`` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from storage.errors import Forbidden, NotFound
from storage.indicators.targets import Indicator, Target, target_for

# Shares over children aged 5–17 (the rest are over municipalities).
CHILD_SHARES = (
    Indicator.coverage,
    Indicator.tech_science,
    Indicator.funded,
    Indicator.certified,
    Indicator.disability_adapted,
)


@dataclass(frozen=True)
class Share:
    count: int
    base: int | None  # None or 0: the denominator is unknown — "нет данных", never a division

    @property
    def percent(self) -> Decimal | None:
        if not self.base:
            return None
        return (Decimal(100) * self.count / self.base).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Point:
    """Children counted on one day (the end of that day in the region's time zone)."""

    on: date
    covered: int = 0  # with at least one enrollment they studied in that day
    tech_science: int = 0  # … in a technical or natural-science program
    adapted: int = 0  # … in a program adapted for children with disabilities
    funded: int = 0  # holding a funded (ПФ) certificate that day
    certified: int = 0  # holding any certificate that day

    def count(self, indicator: Indicator) -> int:
        return {
            Indicator.coverage: self.covered,
            Indicator.tech_science: self.tech_science,
            Indicator.disability_adapted: self.adapted,
            Indicator.funded: self.funded,
            Indicator.certified: self.certified,
        }[indicator]


@dataclass(frozen=True)
class Catalogue:
    """Published programs and providers (the catalogue keeps no history: always today's)."""

    by_direction: dict[str, int] = field(default_factory=dict)
    by_format: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    adapted: int = 0
    providers_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def programs(self) -> int:
        return sum(self.by_direction.values())

    @property
    def providers(self) -> int:
        return sum(self.providers_by_kind.values())


@dataclass(frozen=True)
class Service:
    """The bot's own figures: the certificate queue and the enrollments it holds."""

    pending: int = 0  # applications waiting at the end of the day
    oldest_pending_days: int | None = None
    decisions_week: int = 0  # decided in the 7 days up to the day
    median_decision_hours: float | None = None  # over the 30 days up to the day
    enrollments_now: dict[str, int] = field(default_factory=dict)  # by status, today only


@dataclass(frozen=True)
class Area:
    """A municipality (``id`` set) or the region (``id`` None)."""

    id: int | None
    name: str | None
    children: int | None  # children_5_18 on record; None: not set (нет данных)
    now: Point  # the report's day
    half_year_ago: Point  # the same day six months earlier
    monthly: tuple[tuple[date, int], ...]  # children covered, monthly from half_year_ago to now
    financing: tuple[bool, bool]  # personified financing on: half a year ago, now (municipality)
    catalogue: Catalogue
    service: Service

    def share(self, indicator: Indicator, point: Point | None = None) -> Share:
        if indicator not in CHILD_SHARES:
            raise ValueError(indicator)
        return Share((point or self.now).count(indicator), self.children)

    def coverage_by_month(self) -> list[tuple[date, Share]]:
        return [(day, Share(covered, self.children)) for day, covered in self.monthly]


@dataclass(frozen=True)
class IndicatorReport:
    on: date
    municipalities: tuple[Area, ...]
    region: Area  # children and counts over the municipalities whose children_5_18 is set
    scope: int | None  # the viewer's municipality; None: an administrator (everything)
    computed_in: timedelta = timedelta(0)

    @property
    def points(self) -> tuple[date, ...]:
        """The days of the monthly coverage series, oldest first."""
        return tuple(day for day, _covered in self.region.monthly)

    @property
    def without_children_data(self) -> tuple[str, ...]:
        return tuple(m.name or "" for m in self.municipalities if m.children is None)

    def financing(self, index: int = -1) -> Share:
        """Municipalities with personified financing switched on ÷ all of them (index 0: half a
        year ago, -1: on the day)."""
        enabled = sum(1 for m in self.municipalities if m.financing[index])
        return Share(enabled, len(self.municipalities))

    def area(self, municipality_id: int | None) -> Area:
        """The region (None) or one municipality, within what the viewer may see."""
        if municipality_id is None:
            return self.region
        if self.scope is not None and municipality_id != self.scope:
            raise NotFound("municipality")  # another one's id reads as missing (no probing)
        for municipality in self.municipalities:
            if municipality.id == municipality_id:
                return municipality
        raise NotFound("municipality")

    def ranking(self, indicator: Indicator) -> list[tuple[Area, Share]]:
        """Municipalities by the share, highest first; those without data last. Admins only."""
        if self.scope is not None:
            raise Forbidden("indicators_ranking")
        shares = [(m, m.share(indicator)) for m in self.municipalities]
        return sorted(
            shares,
            key=lambda pair: (pair[1].percent is None, -(pair[1].percent or 0), pair[0].name),
        )

    def target(self, indicator: Indicator, area: Area) -> Target | None:
        return target_for(indicator, self.on.year, area.name)
