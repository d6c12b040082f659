"""Payments' public write API: every change to payments' tables goes through here.

The API, the hosted page, the Stripe webhook, jobs, the admin and other apps
(collection, reconciliation) call these functions; the modules beside this one are
private to payments:

- lifecycle: a payment created, shown to the payer, cancelled, expired;
- refunds, disputes: money going back;
- direct_debit: the debits the collection app presents and settles; bulk: the same
  for a whole batch of a collection run (one statement per table);
- outcomes: a provider's answer applied to a payment (webhook, re-sync);
- transitions: the one place a payment's state changes (timeline row + event);
- postings, ledger: the double-entry lines of every money movement;
- stuck_payments: the scheduled check that asks providers about payments their
  webhooks did not settle;
- stripe_events: Stripe's webhook events applied once each;
- sandbox_payments: the sandbox page's test-card payments;
- provider_accounts: an agency's provider credentials;
- payment_links: an agency's no-code payment pages, and the payments made from them.
"""

from payments.services.bulk import (
    DirectDebitRequest,
    confirm_direct_debits,
    create_direct_debits,
)
from payments.services.direct_debit import (
    confirm_direct_debit,
    fail_direct_debit,
    provisional_until_for,
    record_direct_debit_return,
    set_return_window_policy,
    submit_direct_debit,
)
from payments.services.disputes import record_dispute
from payments.services.lifecycle import (
    cancel_payment,
    create_payment,
    expire_overdue_payments,
    expire_payment,
    record_payment_page_visit,
)
from payments.services.outcomes import apply_provider_status
from payments.services.payment_links import (
    EDITABLE_FIELDS as PAYMENT_LINK_EDITABLE_FIELDS,
)
from payments.services.payment_links import (
    AmountRefused,
    LinkUnavailable,
    ReferenceRefused,
    check_link_usable,
    create_payment_link,
    disable_payment_link,
    pay_by_link,
    update_payment_link,
    validate_payment_link,
)
from payments.services.postings import bank_movement as post_bank_movement
from payments.services.provider_accounts import set_provider_credentials
from payments.services.refunds import create_refund, resync_refund
from payments.services.sandbox_payments import (
    PaymentNotPayable,
    UnknownTestCard,
    pay_with_test_card,
)
from payments.services.stripe_events import handle_event as handle_stripe_event
from payments.services.stuck_payments import resync_payment
from payments.services.stuck_payments import run as check_stuck_payments

__all__ = [
    "PAYMENT_LINK_EDITABLE_FIELDS",
    "AmountRefused",
    "DirectDebitRequest",
    "LinkUnavailable",
    "PaymentNotPayable",
    "ReferenceRefused",
    "UnknownTestCard",
    "apply_provider_status",
    "cancel_payment",
    "check_link_usable",
    "check_stuck_payments",
    "confirm_direct_debit",
    "confirm_direct_debits",
    "create_direct_debits",
    "create_payment",
    "create_payment_link",
    "create_refund",
    "disable_payment_link",
    "expire_overdue_payments",
    "expire_payment",
    "fail_direct_debit",
    "handle_stripe_event",
    "pay_by_link",
    "pay_with_test_card",
    "post_bank_movement",
    "provisional_until_for",
    "record_direct_debit_return",
    "record_dispute",
    "record_payment_page_visit",
    "resync_payment",
    "resync_refund",
    "set_provider_credentials",
    "set_return_window_policy",
    "submit_direct_debit",
    "update_payment_link",
    "validate_payment_link",
]
