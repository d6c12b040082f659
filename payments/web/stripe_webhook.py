"""``POST /webhooks/stripe/<tenant-slug>/``: Stripe's events for one agency's account.

The signature is checked with the SDK (``Stripe-Signature``, 300 s tolerance either way:
the SDK checks the past, this module the future) against
the endpoint secret of each of the agency's Stripe accounts; nothing is read from the
body before it verifies. Any failure to verify answers the same 400, so the endpoint
does not reveal which agency slugs exist.
"""

from __future__ import annotations

import json
import logging
import time

import stripe
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hub.middleware import error_body
from payments import services
from payments.models import ProviderAccount
from tenants.models import Tenant
from tenants.scope import tenant_scope

logger = logging.getLogger(__name__)
SIGNATURE_TOLERANCE_SECONDS = 300


def _refuse(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        error_body(type="invalid_request", code=code, message=message), status=status
    )


def _signed_at(header: str) -> int | None:
    """The ``t=`` of a Stripe-Signature header (``t=1700000000,v1=…``)."""
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _verifies(payload: bytes, header: str, secret: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(
            payload, header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, ValueError):
        return False
    # The SDK refuses only timestamps too far in the past. One too far ahead would let a
    # captured signature stay "fresh" for as long as its author wished: clocks differ by
    # seconds, not by more than the tolerance.
    signed_at = _signed_at(header)
    return signed_at is not None and signed_at <= time.time() + SIGNATURE_TOLERANCE_SECONDS


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates instead
@require_POST
def stripe_webhook(request, tenant_slug: str):
    try:
        payload = request.body
    except RequestDataTooBig:
        return _refuse(413, "body_too_large", "The event is larger than the hub accepts")
    header = request.headers.get("Stripe-Signature", "")
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    account = None
    if tenant is not None and header:
        with tenant_scope(tenant):
            # Inactive accounts too: deactivating one stops new payments, while Stripe
            # still reports on the payments, refunds and payouts already made with it.
            accounts = (
                ProviderAccount.objects.filter(provider="stripe")
                .select_related("tenant")
                .order_by("pk")
            )
            account = next(
                (
                    candidate
                    for candidate in accounts
                    if candidate.webhook_secret
                    and _verifies(payload, header, candidate.webhook_secret)
                ),
                None,
            )
    if account is None:
        logger.warning("stripe webhook for %r: signature did not verify", tenant_slug)
        return _refuse(400, "invalid_signature", "The Stripe-Signature header does not verify")
    try:
        event = json.loads(payload)
    except ValueError:
        return _refuse(400, "malformed_json", "The event is not JSON")
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        return _refuse(400, "not_an_event", "The body is not a Stripe event")
    with tenant_scope(tenant):
        outcome = services.handle_stripe_event(account=account, event=event)
    logger.info(
        "stripe event %s (%s) for %s: %s", event["id"], event.get("type"), tenant.slug, outcome
    )
    return JsonResponse({"received": True, "outcome": outcome})
