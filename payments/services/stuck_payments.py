"""The stuck-payment check: asks providers for the truth when their webhooks did not tell us.

A webhook can be lost (an endpoint misconfigured for a day, a Stripe outage), so a
payment may sit in ``submitted``, a refund may stay ``submitted`` after a timeout, and
a Stripe fee arrives after the payment succeeded. Each run looks at those across all
agencies, each in its own scope; one provider failing never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from payments import selectors
from payments.models import Payment, Refund
from payments.providers.base import ProviderError
from payments.providers.registry import registry
from payments.services import outcomes, refunds
from tenants.scope import acting_for, all_tenants

logger = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=10)
# Direct debits sit in submitted for days: ask about each one at most this often.
RECHECK_AFTER = timedelta(minutes=30)
# Stripe settles the balance transaction (and so the fee) shortly after the charge; a
# fee still unknown after a week is left to the payout reconciliation.
FEE_GRACE = timedelta(minutes=5)
FEE_GIVE_UP = timedelta(days=7)
BATCH = 200


@dataclass
class JanitorReport:
    payments_changed: int = 0
    fees_recorded: int = 0
    refunds_settled: int = 0
    errors: int = 0


def resync_payment(*, payment: Payment, source: str = "janitor") -> bool:
    """Ask the payment's provider for its true state and apply it (also the admin's
    "re-sync with provider"). True if the payment's state changed."""
    plugin = registry.get(payment.provider)
    if plugin is None:
        return False  # bank-file direct debits: the bank statement is the truth
    with acting_for(payment.tenant):
        Payment.objects.filter(pk=payment.pk).update(provider_checked_at=timezone.now())
        status = plugin.fetch_status(payment=payment, account=payment.provider_account)
        return outcomes.apply_provider_status(
            payment=payment, status=status, source=source, detail={"resync": True}
        )


def run(*, now: datetime | None = None) -> JanitorReport:
    now = now or timezone.now()
    report = JanitorReport()
    checked_before = now - RECHECK_AFTER
    # The stuck-payment check is a beat job over every agency's stuck payments; each one is then
    # handled in its own agency's scope (acting_for).
    with all_tenants():
        stuck = list(
            _with_provider(
                selectors.stuck_submitted_payments(
                    before=now - STUCK_AFTER, checked_before=checked_before
                )
            )
        )
        awaiting_fee = list(
            selectors.payments_awaiting_fee(
                provider="stripe",
                finished_between=(now - FEE_GIVE_UP, now - FEE_GRACE),
                checked_before=checked_before,
            ).select_related("tenant", "provider_account")[:BATCH]
        )
        open_refunds = list(
            selectors.stuck_refunds(before=now - STUCK_AFTER).select_related(
                "tenant", "payment", "payment__provider_account"
            )[:BATCH]
        )
    for payment in stuck:
        report.payments_changed += _safely(
            report, payment, lambda p=payment: resync_payment(payment=p)
        )
    for payment in awaiting_fee:
        before = payment.fee_recorded_at
        _safely(report, payment, lambda p=payment: resync_payment(payment=p))
        payment.refresh_from_db(fields=["fee_recorded_at"])
        report.fees_recorded += before is None and payment.fee_recorded_at is not None
    for refund in open_refunds:
        settled = _safely(report, refund, lambda r=refund: refunds.resync_refund(refund=r))
        report.refunds_settled += bool(settled) and settled.state != Refund.State.SUBMITTED
    return report


def _with_provider(payments):
    wanted = [plugin.identifier for plugin in registry]
    return payments.filter(provider__in=wanted).select_related("tenant", "provider_account")[:BATCH]


def _safely(report: JanitorReport, obj, work):
    try:
        return work()
    except ProviderError as exc:
        report.errors += 1
        logger.warning("stuck-payment check: %s: provider error: %s", obj.pk, exc)
    except Exception:
        report.errors += 1
        logger.exception("stuck-payment check: %s failed", obj.pk)
    return 0
