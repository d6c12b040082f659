"""The sandbox provider: the default, no account needed.

The payer is sent to a payment page the hub serves itself (payments/web/payment_page.py),
where the test card numbers integrators already know from Stripe decide the outcome, as
in GOV.UK Pay's sandbox. This module only translates (a card number into the outcome it
stands for); payments/services/sandbox_payments.py applies that outcome. No card
data is kept: only the last four digits go into the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy

from payments.models import Payment, PaymentState, ProviderAccount, Refund
from payments.providers.base import (
    PaymentProvider,
    ProviderStatus,
    RefundStatus,
    StartedPayment,
)
from payments.providers.registry import registry

S = PaymentState


@dataclass(frozen=True)
class SandboxCard:
    outcome: ProviderStatus
    description: str  # shown to the payer, in the page's language


TEST_CARDS: dict[str, SandboxCard] = {
    "4242424242424242": SandboxCard(ProviderStatus(S.SUCCESS, fee=0), gettext_lazy("succeeds")),
    "4000000000000002": SandboxCard(
        ProviderStatus(
            S.FAILED, failure_code="card_declined", failure_message="Your card was declined"
        ),
        gettext_lazy("is declined"),
    ),
    "4000000000000119": SandboxCard(
        ProviderStatus(
            S.ERROR,
            failure_code="processing_error",
            failure_message="An error occurred while processing the card; no money was taken",
        ),
        gettext_lazy("fails with a processing error"),
    ),
}


def normalise_card_number(value: str) -> str:
    return "".join(ch for ch in value if ch not in " -")


def test_card(card_number: str) -> SandboxCard | None:
    """What the sandbox does with this card number (None: not a test card)."""
    return TEST_CARDS.get(normalise_card_number(card_number))


def payment_page_url(payment: Payment) -> str:
    return settings.HUB_PUBLIC_URL + reverse("payments-hosted-page", args=[payment.hosted_token])


@registry.register("sandbox")
class SandboxProvider(PaymentProvider):
    label = "Sandbox (test cards, no real money)"

    def start_payment(self, *, payment: Payment, account: ProviderAccount | None) -> StartedPayment:
        return StartedPayment(
            next_url=payment_page_url(payment), provider_reference=f"sandbox_{payment.pk}"
        )

    def stop_payment(
        self, *, payment: Payment, account: ProviderAccount | None
    ) -> ProviderStatus | None:
        return None  # the hub's own page refuses finished payments: nothing to stop

    def fetch_status(self, *, payment: Payment, account: ProviderAccount | None) -> ProviderStatus:
        return ProviderStatus(None)  # the hub is the provider: its state is the truth

    def refund(self, *, refund: Refund, account: ProviderAccount | None) -> RefundStatus:
        return RefundStatus(Refund.State.SUCCESS, provider_reference=f"sandbox_{refund.pk}")

    def fetch_refund_status(
        self, *, refund: Refund, account: ProviderAccount | None
    ) -> RefundStatus:
        return self.refund(refund=refund, account=account)
