"""The navigator adapter (NAVIGATOR_CONTRACT.md; docs/NAVIGATOR.md): pull and import of the
catalogue, the push outbox, decisions from callbacks, reconciliation. No Telegram in here.

- ``mapping``: the contract's objects checked and mapped onto our vocabulary;
- ``apply``: a page (or an export slice) applied in one transaction, over ``ledger`` (the
  version rows in memory, written back in bulk) and ``catalogue`` / ``groups`` (set-based writes);
- ``sync``: the pull with its lease, the sync state and alerts;
- ``outbox``: applications pushed with an Idempotency-Key, retried, reconciled;
- ``decisions``: navigator statuses walked through the enrollment rules;
- ``client``: the HTTP calls; ``signature``: callback HMAC; ``state``: the sync row;
- ``guard``: local decisions refused while the navigator decides.

Import the submodules (this package imports nothing, so storage.enrollments can use the guard).
"""
