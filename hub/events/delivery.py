"""Sending one webhook delivery: sign, POST with short timeouts, record the attempt.

A delivery is claimed with a lease (an atomic UPDATE of ``next_attempt_at``) instead
of a row lock held during the HTTP call, so a slow receiver never holds a database
lock, and two workers never send the same attempt.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hub.events import queue, signing
from hub.events.destinations import ForbiddenDestination, PinnedAddressAdapter, check_destination
from hub.events.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.scope import all_tenants

DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)  # seconds, ≈ 27.6 h
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 5.0
# Longer than any one attempt can take. It is also how long a delivery that was in
# flight when its worker died waits before the sweep sends it again.
LEASE = timedelta(seconds=settings.HUB_WEBHOOK_LEASE_SECONDS)
EXCERPT_BYTES = 2048
USER_AGENT = "hub-webhooks/1.0"

_local = threading.local()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_schedule() -> tuple[int, ...]:
    return tuple(getattr(settings, "HUB_WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE))


def _session() -> requests.Session:
    # One keep-alive session per worker thread: reusing connections to the same
    # receiver is most of the speed of a fan-out.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        adapter = PinnedAddressAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def event_body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    return json.dumps(
        {
            "id": event.pk,
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "tenant": delivery.tenant.slug,
            "data": event.payload,
        },
        separators=(",", ":"),
        default=str,
    ).encode()


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and (endpoint.previous_secret_expires_at > now)
    ):
        secrets_.append(endpoint.previous_secret)
    return secrets_


def send(delivery: WebhookDelivery, *, now=None) -> AttemptResult:
    now = now or timezone.now()
    body = event_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            secrets_=signing_secrets(delivery.endpoint, now),
            message_id=delivery.event_id,
            timestamp=timestamp,
            body=body,
        ),
    }
    if delivery.event.request_id:  # the API call that caused the event (hub/observability)
        headers["X-Request-Id"] = delivery.event.request_id
    started = time.monotonic()
    try:
        check_destination(delivery.endpoint.url)
        with _session().post(
            delivery.endpoint.url,
            data=body,
            headers=headers,
            stream=True,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
        ) as response:
            excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
            return AttemptResult(
                status_code=response.status_code,
                latency_ms=_ms_since(started),
                excerpt=excerpt.decode("utf-8", errors="replace"),
                error="",
            )
    except ForbiddenDestination as exc:
        return AttemptResult(None, _ms_since(started), "", f"refused: {exc}")
    except requests.RequestException as exc:
        return AttemptResult(None, _ms_since(started), "", f"{type(exc).__name__}: {exc}"[:500])


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def claim(delivery_id: str, *, now) -> WebhookDelivery | None:
    # A worker claims a delivery by id, of any agency, before it knows whose it is.
    with all_tenants():
        claimed = WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + LEASE)
        if not claimed:
            return None
        return WebhookDelivery.objects.select_related("event", "endpoint", "tenant").get(
            pk=delivery_id
        )


def attempt_delivery(delivery_id: str, *, now=None) -> WebhookAttempt | None:
    """One attempt if the delivery is due; None if it is not (or another worker has it)."""
    now = now or timezone.now()
    delivery = claim(delivery_id, now=now)
    if delivery is None:
        return None
    result = send(delivery, now=now)
    return record_attempt(delivery, result, now=now)


def record_attempt(delivery: WebhookDelivery, result: AttemptResult, *, now) -> WebhookAttempt:
    schedule = retry_schedule()
    # Still the worker, outside any scope: the delivery just claimed and its endpoint
    # belong to whichever agency the event was for.
    with all_tenants(), transaction.atomic():
        delivery.attempt_count += 1
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            attempted_at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=result.excerpt[:EXCERPT_BYTES],
            error=result.error,
            succeeded=result.succeeded,
        )
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        if result.succeeded:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.completed_at = now
            delivery.next_attempt_at = None
            # Only an endpoint with something to clear is written: a healthy endpoint's
            # row is not rewritten (and locked) by every delivery to it.
            endpoints.filter(Q(consecutive_failures__gt=0) | Q(flagged_at__isnull=False)).update(
                consecutive_failures=0, flagged_at=None
            )
        elif delivery.attempt_count <= len(schedule):
            delay = schedule[delivery.attempt_count - 1]
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
            if delay <= 600:
                _enqueue_retry(delivery.pk, delay)
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.completed_at = now
            delivery.next_attempt_at = None
            endpoints.update(consecutive_failures=F("consecutive_failures") + 1, flagged_at=now)
        delivery.save(update_fields=["attempt_count", "status", "completed_at", "next_attempt_at"])
    return attempt


def enqueue_now(delivery_id: str) -> None:
    _enqueue_retry(delivery_id, 0)


def _enqueue_retry(delivery_id: str, delay: int) -> None:
    def enqueue():
        deliver_webhook = queue.task(queue.DELIVER_WEBHOOK)
        try:
            deliver_webhook.apply_async(args=[delivery_id], countdown=delay)
        except Exception:  # the broker is down: the periodic sweep sends it when due
            logger.warning("could not enqueue delivery %s", delivery_id)

    transaction.on_commit(enqueue)


def due_delivery_ids(*, now=None, limit: int = 1000) -> list[str]:
    now = now or timezone.now()
    # The retry sweep finds due deliveries of every agency.
    with all_tenants():
        return list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )


def replay(delivery: WebhookDelivery) -> None:
    """Operator action: send a delivery again now, whatever its state."""
    # Operator action in the hub admin: the delivery may be any agency's.
    with all_tenants():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            completed_at=None,
        )
    _enqueue_retry(delivery.pk, 0)


def replay_failed(endpoint: WebhookEndpoint) -> int:
    # Operator action in the hub admin on one endpoint: the filter keeps to its agency.
    with all_tenants():
        failed = list(
            WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.FAILED)
        )
    for delivery in failed:
        replay(delivery)
    return len(failed)
