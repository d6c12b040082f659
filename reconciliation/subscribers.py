"""Reacting to payments' events.

``payout.paid`` (published by payments when Stripe reports a paid payout, payload
``{"payout_id": "po_…", "provider_account": "pac_…"}``) imports the payout at once; the
daily sweep imports any payout whose event was missed. A payout Stripe has not finished
(or a network failure) raises, so the dispatcher retries the event later.

The import fetches everything from Stripe before it opens its own write transaction
(services/stripe_payouts.py), and it is idempotent (a payout is imported once), so it
subscribes with ``calls_out``: no transaction is open while Stripe answers, and the
receipt is written after the import (hub/events/subscribers.py).
"""

from __future__ import annotations

import logging

from hub.events.models import Event
from hub.events.subscribers import subscribe
from payments.events import PAYOUT_PAID
from payments.selectors import provider_account_by_id
from reconciliation.services import PayoutImportError, import_stripe_payout

logger = logging.getLogger(__name__)


@subscribe(PAYOUT_PAID, name="reconciliation.import_paid_payout", calls_out=True)
def import_paid_payout(event: Event) -> None:
    payout_id = event.payload.get("payout_id") or event.subject_id
    account_id = event.payload.get("provider_account")
    account = provider_account_by_id(account_id, provider="stripe") if account_id else None
    try:
        import_stripe_payout(tenant=event.tenant, payout_id=payout_id, provider_account=account)
    except PayoutImportError as error:
        if error.retryable:
            raise
        # Retrying cannot help (no account knows it, it failed at Stripe): say so once.
        logger.warning("payout %s of %s not imported: %s", payout_id, event.tenant.slug, error)
