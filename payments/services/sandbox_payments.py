"""What a payer does on the sandbox's own payment page: pay with a test card.

The sandbox provider (payments/providers/sandbox.py) says what each test card number
stands for; this applies it to the payment under its row lock, as a real provider's
webhook would be applied.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from payments.models import Payment, PaymentState
from payments.providers.base import ProviderStatus
from payments.providers.sandbox import normalise_card_number, test_card
from payments.rules.states import is_payable
from payments.services import outcomes
from payments.services.locking import lock_payment
from tenants.scope import acting_for


class UnknownTestCard(ValueError):
    pass


class PaymentNotPayable(RuntimeError):
    """Finished, expired or cancelled: the page must refuse it."""


def pay_with_test_card(*, payment: Payment, card_number: str) -> Payment:
    """The payer submitted a test card on the sandbox page."""
    card = test_card(card_number)
    last4 = normalise_card_number(card_number)[-4:]
    if card is None:
        raise UnknownTestCard(last4)
    detail = {"card_last4": last4}
    with acting_for(payment.tenant), transaction.atomic():
        payment = lock_payment(payment)
        if payment.provider != "sandbox" or not is_payable(
            payment.state, payment.expires_at, timezone.now()
        ):
            raise PaymentNotPayable(payment.state)
        # Card details received (submitted), then the test card's verdict.
        outcomes.apply_locked(
            payment, ProviderStatus(PaymentState.SUBMITTED), source="sandbox", detail=detail
        )
        outcomes.apply_locked(payment, card.outcome, source="sandbox", detail=detail)
    return payment
