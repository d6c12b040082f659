"""The outbox (domain events), subscriber receipts, and outbound webhooks."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from hub.crypto import EncryptedTextField
from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


class Event(TenantOwnedModel):
    """A domain event, written in the same transaction as the change that caused it."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("evt"), editable=False
    )
    type = models.CharField(max_length=100, db_index=True)
    subject_id = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # After a subscriber failed: not retried before this (back-off on the webhook
    # schedule, so a mail server that is down for hours is not asked every sweep and
    # the event's attempts last about as long as a webhook's). None: due at once.
    retry_at = models.DateTimeField(null=True, blank=True)
    # The request (or task) that published it: X-Request-Id of the API call, sent on
    # with its webhooks, so a delivery can be traced back to the call that caused it.
    request_id = models.CharField(max_length=128, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_undispatched",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_id}"


class SubscriberReceipt(models.Model):
    """Proof that an in-process subscriber handled an event: the second time is a no-op."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="receipts")
    subscriber = models.CharField(max_length=200)
    handled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="one_receipt_per_subscriber"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} handled {self.event_id}"


class WebhookEndpoint(TenantOwnedModel):
    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("whe"), editable=False
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text='Event types, "payment.*" or "*"')
    enabled = models.BooleanField(default=True)
    secret = EncryptedTextField(help_text="whsec_… signing secret, encrypted at rest")
    previous_secret = EncryptedTextField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when deliveries keep failing; cleared on success"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        for pattern in self.event_types:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


class WebhookDelivery(TenantOwnedModel):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("whd"), editable=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
