"""Parent: the certificate's forecast (issue 15) on its card and before a paid request, and
free programs of the same direction when a paid one does not fit (storage/forecast.py)."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from handlers.formatting import day, money
from handlers.parent.catalog.callbacks import SOURCE_LINK, CatalogCb, View
from handlers.ui import Rows, button
from storage import Storage
from storage.enrollments import EnrollmentQuote
from storage.forecast import CertificateForecast
from storage.models import Certificate, EnrollmentStatus, User

# Refusals of the check after which free programs are worth offering.
NOT_FITTING = frozenset({"enroll_balance", "enroll_needs_funded"})


def forecast_lines(forecast: CertificateForecast) -> list[str]:
    """``«Робототехника» (до 31 мая 2027 г.): ещё спишет 7 000 ₽`` per paid enrollment, then
    what stays on the certificate; nothing when no enrollment is paid from it."""
    if not forecast.items:
        return []
    lines = ["", _("<b>📈 Прогноз списаний</b>")]
    for item in forecast.items:
        line = _("«{program}» (до {end}): ещё спишет {amount}").format(
            program=html.escape(item.program_title),
            end=day(item.ends_on),
            amount=money(item.will_take),
        )
        if item.returns > 0:
            line += " · " + _("вернётся {amount}").format(amount=money(item.returns))
        if item.status is EnrollmentStatus.submitted:
            line += " · " + _("заявка ждёт подтверждения")
        lines.append("• " + line)
    lines.append(
        _("После всех списаний останется: <b>{left}</b>").format(left=money(forecast.left))
    )
    return lines


async def certificate_forecast_lines(store: Storage, cert: Certificate) -> list[str]:
    """For the card: the caller read ``cert`` through storage with the acting parent."""
    return forecast_lines(await store.forecast.of(cert))


async def quote_forecast_text(store: Storage, user: User, quote: EnrollmentQuote) -> str:
    """ "После этой записи останется …" once every enrollment has run its course ("" if free)."""
    left = await store.forecast.after_quote(user, quote)
    if left is None:
        return ""
    return "\n" + _(
        "📈 После этой записи, когда все занятия будут оплачены, на сертификате останется {left}."
    ).format(left=money(left))


async def free_alternatives(
    store: Storage, user: User, child_id: int, program_id: int
) -> tuple[str, Rows]:
    """The text and buttons of free programs nearby in the same direction ("", [] if none)."""
    programs = await store.forecast.free_alternatives(user, child_id, program_id)
    if not programs:
        return "", []
    rows: Rows = [
        [
            button(
                "🆓 " + program.title[:50],
                CatalogCb(view=View.card, source=SOURCE_LINK, program=program.id),
            )
        ]
        for program in programs
    ]
    return "\n\n" + _("Бесплатные программы того же направления рядом:"), rows
