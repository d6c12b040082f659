"""Stripe Direct Debit: an off-session PaymentIntent per collection (sepa_debit, bacs_debit).

The debtor set the mandate up with the agency's Stripe account beforehand (a SetupIntent);
the hub stores the PaymentMethod and Mandate ids on the Mandate. Each collection confirms a
PaymentIntent on the agency's own key (``hub.stripe.stripe_client``, never the global key).

The Stripe idempotency key is derived from (instalment, attempt number), the same pair the
database keeps unique: a worker killed after Stripe accepted the debit but before the hub
recorded it asks again with the same key and gets the same PaymentIntent, not a second debit.
Stripe keeps idempotency keys for at least 24 hours; the run sweeper resumes well within that.
"""

from __future__ import annotations

import stripe as stripe_sdk

from collection.models import CollectionAttempt, CollectionProvider
from collection.providers.base import (
    CollectionProviderPlugin,
    ProviderUnavailable,
    SubmissionDeclined,
)
from collection.providers.registry import registry
from collection.schemes import Scheme
from hub.stripe import PAYMENT_METADATA_KEY, stripe_client
from payments.models import ProviderAccount

PAYMENT_METHOD_TYPE = {Scheme.SEPA_CORE: "sepa_debit", Scheme.BACS: "bacs_debit"}
# PaymentIntent states in which the debit is on its way (the outcome comes by webhook).
ACCEPTED = frozenset({"processing", "succeeded", "requires_capture"})


def idempotency_key(attempt: CollectionAttempt) -> str:
    return f"hub-collection-{attempt.instalment_id}-{attempt.number}"


def _secret_key(attempt: CollectionAttempt) -> str:
    account = attempt.payment.provider_account if attempt.payment_id else None
    if account is None:
        account = ProviderAccount.objects.filter(
            tenant_id=attempt.tenant_id, provider=CollectionProvider.STRIPE, active=True
        ).first()
    if account is None or not account.secret_key:
        raise ProviderUnavailable("the agency has no active Stripe account with a secret key")
    return account.secret_key


def _params(attempt: CollectionAttempt) -> dict:
    instalment = attempt.instalment
    mandate = instalment.mandate
    debt = instalment.debt
    params = {
        "amount": attempt.amount,
        "currency": attempt.currency.lower(),
        "payment_method_types": [PAYMENT_METHOD_TYPE[Scheme(attempt.scheme)]],
        "payment_method": mandate.stripe_payment_method,
        "mandate": mandate.stripe_mandate,
        "confirm": True,
        "off_session": True,
        "description": f"{debt.reference} instalment {instalment.sequence}"[:1000],
        "metadata": {
            # How payments' Stripe webhook finds the hub payment an event is about.
            PAYMENT_METADATA_KEY: attempt.payment_id or "",
            "collection_attempt": attempt.pk,
            "instalment": instalment.pk,
            "debt": debt.pk,
        },
    }
    if mandate.stripe_customer:
        params["customer"] = mandate.stripe_customer
    return params


@registry.register("stripe")
class StripeCollector(CollectionProviderPlugin):
    external = True

    def readiness_problems(self, *, tenant, settings) -> list[str]:
        has_key = any(
            account.secret_key
            for account in ProviderAccount.objects.filter(
                tenant=tenant, provider=CollectionProvider.STRIPE, active=True
            )
        )
        return [] if has_key else ["the agency has no active Stripe account with a secret key"]

    def submit(self, *, attempt: CollectionAttempt) -> str:
        client = stripe_client(_secret_key(attempt))
        try:
            intent = client.v1.payment_intents.create(
                params=_params(attempt), options={"idempotency_key": idempotency_key(attempt)}
            )
        except (stripe_sdk.CardError, stripe_sdk.InvalidRequestError) as exc:
            # Stripe refused this debit (inactive mandate, detached payment method …).
            raise SubmissionDeclined(
                exc.code or "invalid_request", exc.user_message or str(exc)
            ) from exc
        except stripe_sdk.StripeError as exc:
            # Network, rate limits, Stripe's own errors, a revoked key: nothing was decided.
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if intent.status in ACCEPTED:
            return intent.id
        error = intent.get("last_payment_error") or {}
        raise SubmissionDeclined(
            error.get("code") or intent.status,
            error.get("message") or f"PaymentIntent {intent.id} is {intent.status}",
        )
