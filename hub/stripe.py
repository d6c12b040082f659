"""The one place a Stripe client is built, for every app that talks to Stripe.

Agencies have their own Stripe accounts, so every call is made with the agency's own
secret key on a ``StripeClient`` of its own: the SDK's global ``stripe.api_key`` is
never set. Payments (Checkout, refunds), collection (off-session direct debits) and
reconciliation (payouts) all get their client here, so the timeout, the retries and
the HTTP library are the same everywhere. Callers pass the decrypted key of the
agency's ``ProviderAccount`` and say themselves, in their own error, when there is none.
"""

from __future__ import annotations

import stripe

# Seconds before a call to Stripe is given up; the caller treats it as "unknown
# outcome" and retries with the same idempotency key.
TIMEOUT_SECONDS = 20
# The SDK retries connection errors and 409/429/5xx itself, with the same
# idempotency key, before it raises.
MAX_NETWORK_RETRIES = 2

# Set on every Stripe object the hub creates (sessions, intents, refunds), so that a
# webhook or a payout's balance transaction leads back to the hub's own row.
PAYMENT_METADATA_KEY = "hub_payment_id"
REFUND_METADATA_KEY = "hub_refund_id"


def stripe_client(secret_key: str) -> stripe.StripeClient:
    """A client that acts on the Stripe account whose secret key this is."""
    if not secret_key:
        raise ValueError("a Stripe client needs the account's secret key")
    return stripe.StripeClient(
        secret_key,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=MAX_NETWORK_RETRIES,
    )
