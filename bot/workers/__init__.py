"""Background loops beside the dispatcher; bot/runtime.py starts ``WORKER_STARTERS``.

Each loop claims its work in the database, so several bot processes can run them at once.
"""

from __future__ import annotations

from bot.workers.certificates import run_certificate_downgrade
from bot.workers.indicator_reports import run_indicator_reports
from bot.workers.notifications import deliver_pending, run_notification_sender

WORKER_STARTERS = [run_notification_sender, run_certificate_downgrade, run_indicator_reports]

__all__ = [
    "WORKER_STARTERS",
    "deliver_pending",
    "run_certificate_downgrade",
    "run_indicator_reports",
    "run_notification_sender",
]
