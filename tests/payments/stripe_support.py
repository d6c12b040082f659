"""Helpers for the Stripe tests: fixtures shaped like Stripe's objects, signed events,
and the real SDK talking to a mocked api.stripe.com (the `responses` library)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs

import stripe

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.stripe.com"


def fixture(name: str, *, payment_id: str = "", refund_id: str = "") -> dict:
    text = (FIXTURES / f"{name}.json").read_text()
    text = text.replace("__PAYMENT_ID__", payment_id).replace("__REFUND_ID__", refund_id)
    return json.loads(text)


def event(type_: str, obj: dict, *, event_id: str | None = None) -> dict:
    envelope = fixture("event")
    envelope["id"] = event_id or f"evt_{secrets.token_hex(12)}"
    envelope["type"] = type_
    envelope["created"] = int(time.time())
    envelope["data"] = {"object": obj}
    return envelope


def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    """The header Stripe sends, computed by the SDK's own helper."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def post_event(client, tenant, evt: dict, secret: str, *, timestamp: int | None = None):
    payload = json.dumps(evt)
    return client.post(
        f"/webhooks/stripe/{tenant.slug}/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret, timestamp=timestamp),
    )


def form(request) -> dict[str, str]:
    """A Stripe API request body (form-encoded), flattened: {"metadata[a]": "b"}."""
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    return {key: values[-1] for key, values in parse_qs(body or "").items()}
