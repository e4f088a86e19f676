"""The delivery core: everything the bot sends on its own (docs/ARCHITECTURE.md, "Issue 9").

- the queue: ``storage.notifications`` (``NotificationRepo``: enqueue, enqueue_once,
  enqueue_many, claim_due, marks, stats, campaign_results; ``Priority``, ``Outgoing``);
- shared limits and unreachable recipients: ``storage.delivery.limits``;
- the rules applied when a row is sent (quiet hours, resolvers): ``storage.delivery.outgoing``;
- class reminders planned on a rolling horizon: ``storage.delivery.reminders``;
- a parent's settings: ``storage.delivery.settings``.
"""

from storage.delivery import limits, reminders
from storage.delivery.outgoing import Ready, Recipient, prepare, register_resolver
from storage.notifications import NotificationRepo, Outgoing, Priority, QueueStats, State

__all__ = [
    "NotificationRepo",
    "Outgoing",
    "Priority",
    "QueueStats",
    "Ready",
    "Recipient",
    "State",
    "limits",
    "prepare",
    "register_resolver",
    "reminders",
]
