"""Webhook attempts counted as they are recorded, in whichever process sends them.

Hooked to the attempt row's creation, not to the sending code: every way of sending
(one delivery per task, a batch) records each attempt as a row, and counting the rows
counts each attempt once. (A sender that bulk-creates attempt rows, which sends no
post_save, calls ``observe_attempts`` with them.)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import post_save

from hub.events.models import WebhookAttempt
from hub.observability import metrics


def observe_attempts(attempts: Iterable[WebhookAttempt]) -> None:
    for attempt in attempts:
        metrics.observe_webhook_attempt(succeeded=attempt.succeeded, latency_ms=attempt.latency_ms)


def _attempt_recorded(sender, instance: WebhookAttempt, created: bool, **kwargs) -> None:
    if created:
        observe_attempts([instance])


def connect() -> None:
    post_save.connect(_attempt_recorded, sender=WebhookAttempt, dispatch_uid="hub-metrics-attempt")
