"""Notices to citizens: each agency's settings, every notice sent (or not), bounced addresses.

An email address is never stored in clear here: a notice keeps it masked (for people) and
as a keyed hash (to find a bounced address), and the address a retry writes to is read
again from the payment or constituent it belongs to.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from notifications.kinds import NoticeKind
from notifications.languages import NOTICE_LANGUAGES
from tenants.ids import PrefixedId
from tenants.scoping import TenantOwnedModel


class NotificationSettings(TenantOwnedModel):
    """What an agency's notices say about it, in which language, and which it sends."""

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("nst"), editable=False
    )
    sender_name = models.CharField(
        max_length=100, blank=True, help_text="Shown as the sender; empty: the agency's name"
    )
    reply_to = models.EmailField(
        blank=True, help_text="Where citizens' answers go; empty: the agency's contact address"
    )
    footer = models.TextField(
        blank=True,
        max_length=1000,
        help_text="Closes every notice: opening hours, a phone number, a web address",
    )
    payment_confirmations = models.BooleanField(default=True)
    refund_confirmations = models.BooleanField(default=True)
    mandate_confirmations = models.BooleanField(default=True)
    reminders = models.BooleanField(default=True, help_text="Reminder and final notice")
    failed_collections = models.BooleanField(default=True)
    reminder_payment_link = models.ForeignKey(
        "payments.PaymentLink",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Reminders and final notices link to this payment link with the debt's "
        "reference (and amount) filled in, when the link can take it; empty: they give the "
        "reference to pay with",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "notice settings"
        verbose_name_plural = "notice settings"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="one_notification_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"Notice settings of {self.tenant}"

    def clean(self) -> None:
        super().clean()
        link = self.reminder_payment_link
        if link is not None and link.tenant_id != self.tenant_id:
            raise ValidationError(
                {"reminder_payment_link": "The payment link must be one of this agency's own"}
            )


class Notice(TenantOwnedModel):
    """One notice a domain event called for: sent, being retried, or held back and why."""

    class Status(models.TextChoices):
        PENDING = "pending"  # recorded, not sent yet
        SENDING = "sending"  # a worker holds it until ``lease_until``
        SENT = "sent"
        FAILED = "failed"  # the mail server refused or did not answer; the outbox retries
        SUPPRESSED = "suppressed"  # never to be sent: see ``suppressed_reason``

    class Suppression(models.TextChoices):
        DECEASED = "deceased"
        BOUNCED = "bounced"
        NO_ADDRESS = "no_address"

    id = models.CharField(
        primary_key=True, max_length=40, default=PrefixedId("ntc"), editable=False
    )
    kind = models.CharField(max_length=30, choices=NoticeKind.choices)
    event = models.ForeignKey(
        "hub.Event", on_delete=models.RESTRICT, related_name="+", help_text="What caused it"
    )
    event_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=64, db_index=True, help_text="pay_…, ins_…, man_…")
    constituent_id = models.CharField(max_length=40, blank=True, db_index=True)
    recipient_masked = models.CharField(max_length=254, blank=True)
    recipient_hash = models.CharField(max_length=64, blank=True, db_index=True)
    language = models.CharField(max_length=5, choices=NOTICE_LANGUAGES)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    suppressed_reason = models.CharField(max_length=20, choices=Suppression.choices, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="one_notice_per_event_and_kind")
        ]
        indexes = [
            models.Index(fields=["tenant", "kind", "status"], name="notice_by_kind_and_status")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_masked or '—'} ({self.status})"


class BouncedAddress(models.Model):
    """An address mail to which bounced: no notice is written to it again, by any agency.

    Hub-wide on purpose: an address that does not exist does not exist for anyone."""

    address_hash = models.CharField(max_length=64, unique=True)
    address_masked = models.CharField(max_length=254)
    reason = models.CharField(max_length=300, blank=True)
    notice = models.ForeignKey(
        Notice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.CharField(max_length=200, help_text="Staff user or ESP webhook")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name_plural = "bounced addresses"

    def __str__(self) -> str:
        return self.address_masked
