"""Platform-core tables: idempotency records and the audit trail.

The event outbox and webhook tables live in hub/events/models.py and are imported
here so Django finds them.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from hub.crypto import EncryptedTextField
from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


class IdempotencyRecord(TenantOwnedModel):
    """The first response to a POST with an ``Idempotency-Key``, per agency."""

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # A response that carries a secret (a webhook endpoint's signing secret) is kept
    # only encrypted, here, and ``response_body`` stays empty: a replay still hands the
    # integrator who lost the first answer the same secret, a database dump does not.
    encrypted_response_body = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "key"], name="idempotency_key_unique_per_tenant"
            )
        ]

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class AuditEntry(TenantOwnedModel):
    """Append-only: who did what, to which object, when. Rows are never changed."""

    class ActorKind(models.TextChoices):
        API_KEY = "api_key"
        STAFF_USER = "staff_user"
        SYSTEM = "system"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("aud"), editable=False
    )
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    summary = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "audit entries"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


from hub.events.models import (  # noqa: E402  (registers the outbox tables with the app)
    Event,
    SubscriberReceipt,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "AuditEntry",
    "Event",
    "IdempotencyRecord",
    "SubscriberReceipt",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
