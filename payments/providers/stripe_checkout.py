"""The Stripe provider: Checkout Sessions for card payments, refunds, status look-ups.

Each call builds a ``StripeClient`` with the agency's own secret key: agencies have
different Stripe accounts, so the SDK's global ``stripe.api_key`` is never used. Every
POST carries an idempotency key derived from the hub's id, so a retry after a timeout
cannot create a second session or refund.
"""

from __future__ import annotations

from datetime import timedelta

import stripe
from django.utils import timezone

from hub.logging import redact
from hub.stripe import PAYMENT_METADATA_KEY, REFUND_METADATA_KEY, stripe_client
from payments.models import Payment, PaymentMethod, ProviderAccount, Refund
from payments.providers import stripe_mapping
from payments.providers.base import (
    PaymentProvider,
    ProviderError,
    ProviderStatus,
    RefundStatus,
    StartedPayment,
)
from payments.providers.registry import registry
from payments.providers.sandbox import payment_page_url

# Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours ahead.
SESSION_MIN_LIFETIME = timedelta(minutes=31)
SESSION_MAX_LIFETIME = timedelta(hours=23, minutes=59)
# Stripe keeps idempotency keys for 24 hours; after that a repeated POST is a new one.
IDEMPOTENCY_WINDOW = timedelta(hours=23)


def client_for(account: ProviderAccount | None) -> stripe.StripeClient:
    if account is None or not account.secret_key:
        raise ProviderError(
            "the agency's Stripe account has no secret key", code="provider_not_configured"
        )
    return stripe_client(account.secret_key)


def provider_error(exc: stripe.StripeError) -> ProviderError:
    # Timeouts, Stripe's own 5xx and rate limits: the request may have worked.
    unknown = isinstance(exc, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError)
    code = getattr(exc, "code", None) or "provider_error"
    message = redact(getattr(exc, "user_message", None) or str(exc) or type(exc).__name__)
    return ProviderError(f"Stripe: {message}"[:500], code=code[:50], definitive=not unknown)


def _session_expiry(payment: Payment) -> int:
    now = timezone.now()
    wanted = payment.expires_at or now + SESSION_MAX_LIFETIME
    wanted = min(max(wanted, now + SESSION_MIN_LIFETIME), now + SESSION_MAX_LIFETIME)
    return int(wanted.timestamp())


def checkout_session_params(payment: Payment) -> dict:
    back = payment.return_url or payment_page_url(payment)
    params = {
        "mode": "payment",
        "payment_method_types": ["card"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": payment.amount,
                    "product_data": {"name": payment.description},
                },
            }
        ],
        "client_reference_id": payment.pk,
        "success_url": back,
        "cancel_url": back,
        "expires_at": _session_expiry(payment),
        "metadata": {PAYMENT_METADATA_KEY: payment.pk, "reference": payment.reference[:500]},
        "payment_intent_data": {
            "description": payment.description,
            "metadata": {PAYMENT_METADATA_KEY: payment.pk, "reference": payment.reference[:500]},
        },
    }
    if payment.email:
        params["customer_email"] = payment.email
    return params


@registry.register("stripe")
class StripeProvider(PaymentProvider):
    label = "Stripe (the agency's own account)"
    needs_account = True

    def start_payment(self, *, payment: Payment, account: ProviderAccount | None) -> StartedPayment:
        client = client_for(account)
        try:
            session = client.v1.checkout.sessions.create(
                params=checkout_session_params(payment),
                options={"idempotency_key": f"hub-payment-{payment.pk}"},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        return StartedPayment(next_url=session.url, provider_session_id=session.id)

    def stop_payment(
        self, *, payment: Payment, account: ProviderAccount | None
    ) -> ProviderStatus | None:
        client = client_for(account)
        try:
            if payment.provider_session_id:
                client.v1.checkout.sessions.expire(payment.provider_session_id)
            elif payment.provider_reference:
                client.v1.payment_intents.cancel(payment.provider_reference)
            return None
        except stripe.InvalidRequestError:
            # No longer open at Stripe (paid, processing, or expired already): find out.
            return self.fetch_status(payment=payment, account=account)
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc

    def fetch_status(self, *, payment: Payment, account: ProviderAccount | None) -> ProviderStatus:
        client = client_for(account)
        try:
            if payment.provider_session_id:
                session = client.v1.checkout.sessions.retrieve(
                    payment.provider_session_id,
                    params={"expand": ["payment_intent.latest_charge.balance_transaction"]},
                )
                return stripe_mapping.status_from_checkout_session(session.to_dict())
            if payment.provider_reference:
                intent = client.v1.payment_intents.retrieve(
                    payment.provider_reference,
                    params={"expand": ["latest_charge.balance_transaction"]},
                )
                return stripe_mapping.status_from_payment_intent(
                    intent.to_dict(), payer_can_retry=payment.method == PaymentMethod.CARD
                )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        return ProviderStatus(None)

    def refund(self, *, refund: Refund, account: ProviderAccount | None) -> RefundStatus:
        payment = refund.payment
        if not payment.provider_reference:
            raise ProviderError("Stripe has no PaymentIntent for this payment", code="no_charge")
        client = client_for(account)
        try:
            created = client.v1.refunds.create(
                params={
                    "payment_intent": payment.provider_reference,
                    "amount": refund.amount,
                    "metadata": {REFUND_METADATA_KEY: refund.pk, PAYMENT_METADATA_KEY: payment.pk},
                },
                options={"idempotency_key": f"hub-refund-{refund.pk}"},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        return stripe_mapping.refund_status(created.to_dict())

    def fetch_refund_status(
        self, *, refund: Refund, account: ProviderAccount | None
    ) -> RefundStatus:
        client = client_for(account)
        try:
            if refund.provider_reference:
                found = client.v1.refunds.retrieve(refund.provider_reference)
                return stripe_mapping.refund_status(found.to_dict())
            listed = client.v1.refunds.list(
                params={"payment_intent": refund.payment.provider_reference, "limit": 100}
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        for candidate in listed.to_dict().get("data", []):
            if (candidate.get("metadata") or {}).get(REFUND_METADATA_KEY) == refund.pk:
                return stripe_mapping.refund_status(candidate)
        if timezone.now() - refund.created_at < IDEMPOTENCY_WINDOW:
            # Never reached Stripe, or did under this key: asking again is safe.
            return self.refund(refund=refund, account=account)
        return RefundStatus(
            Refund.State.ERROR,
            failure_code="not_found_at_provider",
            failure_message="Stripe has no record of this refund",
        )
