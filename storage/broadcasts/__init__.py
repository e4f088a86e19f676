"""МОЦ announcements (issue 10): compose, segment, send through the delivery core, report.

- ``storage.broadcasts.html``: Telegram's HTML checked before an announcement is saved;
- ``storage.broadcasts.audience``: the audience as one portable query, counted and streamed;
- ``storage.broadcasts.repo``: rights, states, pause/cancel, results;
- ``storage.broadcasts.sending``: planning in batches, progress, closing what went out.
"""

from storage.broadcasts.audience import Filters
from storage.broadcasts.repo import KIND, BroadcastRepo, Results, Status, campaign, content

__all__ = ["KIND", "BroadcastRepo", "Filters", "Results", "Status", "campaign", "content"]
