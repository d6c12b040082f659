"""Managing an agency's webhook endpoints: create, update, rotate the secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hub.errors import InvalidRequest
from hub.events import signing
from hub.events.catalogue import is_valid_subscription
from hub.events.destinations import ForbiddenDestination, check_destination
from hub.events.models import WebhookEndpoint
from hub.observability import request_id
from tenants.models import Tenant

SECRET_ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the response that created or rotated it


def _validate(url: str | None, event_types: list[str] | None) -> None:
    if url is not None:
        try:
            check_destination(url)
        except ForbiddenDestination as exc:
            raise InvalidRequest(str(exc), code="url_not_allowed", field="url") from exc
    if event_types is not None:
        if not event_types:
            raise InvalidRequest(
                "Subscribe to at least one event type", code="no_event_types", field="event_types"
            )
        unknown = [t for t in event_types if not is_valid_subscription(t)]
        if unknown:
            raise InvalidRequest(
                f"Unknown event type(s): {', '.join(unknown)}",
                code="unknown_event_type",
                field="event_types",
            )


@transaction.atomic
def create_endpoint(
    *,
    tenant: Tenant,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> EndpointWithSecret:
    _validate(url, event_types)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        tenant=tenant,
        url=url,
        event_types=event_types,
        description=description,
        enabled=enabled,
        secret=secret,
    )
    endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def update_endpoint(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    _validate(changes.get("url"), changes.get("event_types"))
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if changes.get("enabled"):
        endpoint.flagged_at = None
        endpoint.consecutive_failures = 0
    endpoint.save()
    return endpoint


@transaction.atomic
def rotate_secret(
    *, endpoint: WebhookEndpoint, overlap: timedelta = SECRET_ROTATION_OVERLAP
) -> EndpointWithSecret:
    """New secret now; the old one keeps signing alongside it for ``overlap``."""
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = secret
    endpoint.save()
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def ping(*, endpoint: WebhookEndpoint):
    """Send a ``webhook.ping`` to this endpoint alone, to test the integration."""
    from hub.events.catalogue import WEBHOOK_PING
    from hub.events.delivery import enqueue_now
    from hub.events.models import Event, WebhookDelivery

    with transaction.atomic():
        event = Event(
            tenant=endpoint.tenant,
            type=WEBHOOK_PING,
            subject_id=endpoint.pk,
            payload={"endpoint": endpoint.pk, "message": "pong"},
            dispatched_at=timezone.now(),
            request_id=request_id.current(),
        )
        event.save()
        delivery = WebhookDelivery(tenant=endpoint.tenant, event=event, endpoint=endpoint)
        delivery.save()
        enqueue_now(delivery.pk)
    return delivery
