"""Background loops beside the dispatcher; bot/runtime.py starts ``WORKER_STARTERS``.

Each loop claims its work in the database, so several bot processes can run them at once.
"""

from __future__ import annotations

from bot.workers.broadcasts import run_broadcasts
from bot.workers.certificates import run_certificate_downgrade
from bot.workers.indicator_reports import run_indicator_reports
from bot.workers.navigator import run_navigator_sync
from bot.workers.notifications import run_notification_sender
from bot.workers.reminders import run_reminder_planner
from bot.workers.waiting import run_overdue_reminders

WORKER_STARTERS = [
    run_notification_sender,
    run_certificate_downgrade,
    run_reminder_planner,
    run_broadcasts,  # announcements: planning and progress
    run_overdue_reminders,  # overdue applications, once a day
    run_navigator_sync,  # navigator pull, push, reconcile
    run_indicator_reports,  # the twice-yearly indicator report
]

__all__ = [
    "WORKER_STARTERS",
    "run_certificate_downgrade",
    "run_indicator_reports",
    "run_notification_sender",
    "run_reminder_planner",
]
