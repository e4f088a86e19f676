"""The certificate's forecast (issue 15): what each enrollment will still take, what is left.

The monthly job (``EnrollmentRepo.charge_month``) charges an active paid enrollment once a month
while its group runs: cost / program months, the group's last month also taking the rounding
remainder, never more than the enrollment still holds; what the charges leave is released when
it ends. ``future_charges`` replays exactly that rule from today, so for every certificate

    left + sum(will_take) + spent == nominal        (given nominal = balance + reserved + spent)

and a request still waiting for confirmation is counted as if confirmed (it will hold its cost
out of the balance). tests/test_forecast_property.py checks both against storage/money.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

from storage.calendar import REGION_TZ, age_on
from storage.calendar import today as region_today
from storage.catalog import CatalogQuery, CatalogRepo, Price, ProgramRow
from storage.certificates import CertificateRepo
from storage.enrollments import EnrollmentQuote, monthly_amount
from storage.models import (
    Certificate,
    Child,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Group,
    MoneyMovement,
    MovementKind,
    Municipality,
    Program,
    User,
)
from storage.repo import Repo

S = EnrollmentStatus
# Requests that hold (or are about to hold) the certificate's money.
PAYING = (S.submitted, S.confirmed, S.active)
ALTERNATIVES = 3


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def future_charges(
    *,
    cost: int,
    months: int,
    holds: int,
    starts_on: date,
    ends_on: date,
    today: date,
    charged_this_month: bool,
) -> int:
    """What the monthly job will still charge an enrollment holding ``holds`` kopecks."""
    monthly = monthly_amount(cost, months)
    remainder = cost - monthly * max(1, months)
    first = max(today.replace(day=1), starts_on.replace(day=1))
    if charged_this_month and first == today.replace(day=1):
        first = _next_month(first)
    total, left = 0, holds
    month = first
    while month <= ends_on and left > 0:
        month_end = _next_month(month) - timedelta(days=1)
        # A month may charge nothing (cost below the months) while the last takes the remainder.
        amount = min(monthly + (remainder if ends_on <= month_end else 0), left)
        total += amount
        left -= amount
        month = _next_month(month)
    return total


@dataclass(frozen=True, slots=True)
class EnrollmentForecast:
    enrollment_id: int
    program_title: str
    status: EnrollmentStatus
    holds: int  # what it holds now (confirmed, active) or will hold (submitted)
    will_take: int  # what the monthly charges will still take of it
    ends_on: date

    @property
    def returns(self) -> int:
        """Given back to the balance when it ends."""
        return self.holds - self.will_take


@dataclass(frozen=True, slots=True)
class CertificateForecast:
    certificate_id: int
    period_end: date
    nominal: int
    spent: int
    items: tuple[EnrollmentForecast, ...]
    left: int  # on the certificate once every listed enrollment has run its course

    @property
    def will_take(self) -> int:
        return sum(item.will_take for item in self.items)


class ForecastRepo(Repo):
    async def for_parent(
        self, parent: User, certificate_id: int, *, today: date | None = None
    ) -> CertificateForecast:
        cert = await CertificateRepo(self.session).certificate_for_parent(parent, certificate_id)
        return await self.of(cert, today=today)

    async def of(self, cert: Certificate, *, today: date | None = None) -> CertificateForecast:
        """The forecast of a certificate the caller may see (its card already checked that)."""
        day = today or await self._today(cert.municipality_id)
        period = f"{day:%Y-%m}"
        charged = exists().where(
            MoneyMovement.enrollment_id == Enrollment.id,
            MoneyMovement.kind == MovementKind.charge,
            MoneyMovement.period_key == period,
        )
        rows = await self.session.execute(
            select(
                Enrollment.id,
                Enrollment.status,
                Enrollment.cost_kopecks,
                Enrollment.reserved_kopecks,
                Program.title,
                Program.months,
                Group.starts_on,
                Group.ends_on,
                charged,
            )
            .join(Program, Program.id == Enrollment.program_id)
            .join(Group, Group.id == Enrollment.group_id)
            .where(
                Enrollment.certificate_id == cert.id,
                Enrollment.status.in_([str(s) for s in PAYING]),
                Enrollment.cost_kopecks > 0,
            )
            .order_by(Enrollment.id)
        )
        items = []
        left = cert.balance_kopecks
        for row_id, status, cost, reserved, title, months, starts, ends, done in rows.all():
            pending = status == S.submitted
            holds = cost if pending else reserved
            will_take = future_charges(
                cost=cost,
                months=months,
                holds=holds,
                starts_on=starts,
                ends_on=ends,
                today=day,
                charged_this_month=bool(done),
            )
            items.append(EnrollmentForecast(row_id, title, S(status), holds, will_take, ends))
            left += -will_take if pending else holds - will_take
        return CertificateForecast(
            cert.id,
            cert.period_end,
            cert.nominal_kopecks,
            cert.spent_kopecks,
            tuple(items),
            left,
        )

    async def after_quote(
        self, parent: User, quote: EnrollmentQuote, *, today: date | None = None
    ) -> int | None:
        """What the certificate will have left once this paid request and every other has run
        its course (None for a free program or a certificate the parent cannot see)."""
        if not quote.cost_kopecks:
            return None
        cert = await self.session.scalar(
            select(Certificate)
            .join(Child, Child.id == Certificate.child_id)
            .where(Certificate.child_id == quote.child_id, Child.parent_id == parent.id)
        )
        if cert is None:
            return None
        day = today or await self._today(cert.municipality_id)
        forecast = await self.of(cert, today=day)
        new = future_charges(
            cost=quote.cost_kopecks,
            months=quote.months,
            holds=quote.cost_kopecks,
            starts_on=quote.starts_on,
            ends_on=quote.ends_on,
            today=day,
            charged_this_month=False,
        )
        return forecast.left - new

    async def free_alternatives(
        self, parent: User, child_id: int, program_id: int, *, limit: int = ALTERNATIVES
    ) -> list[ProgramRow]:
        """Free programs of the same direction in the same municipality that fit the parent's
        child by age (when a paid one does not fit the certificate)."""
        found = (
            await self.session.execute(
                select(Program.municipality_id, Program.direction, Child.birth_date)
                .join(Child, Child.id == child_id)
                .where(Program.id == program_id, Child.parent_id == parent.id)
            )
        ).first()
        if found is None:
            return []
        municipality_id, direction, born = found
        page = await CatalogRepo(self.session).browse(
            CatalogQuery(
                municipality_id=municipality_id,
                direction=Direction(direction),
                age=age_on(born, await self._today(municipality_id)),
                price=Price.free,
            ),
            page_size=limit + 1,
        )
        return [row for row in page.items if row.id != program_id][:limit]

    async def _today(self, municipality_id: int) -> date:
        timezone = await self.session.scalar(
            select(Municipality.timezone).where(Municipality.id == municipality_id)
        )
        try:
            zone = ZoneInfo(timezone) if timezone else REGION_TZ
        except (KeyError, ValueError):
            zone = REGION_TZ
        return region_today(zone)
