"""The kinds of notice the hub sends a citizen, and which of them an agency may switch off."""

from __future__ import annotations

from django.db import models


class NoticeKind(models.TextChoices):
    ADVANCE_NOTICE = "advance_notice", "Direct-debit advance notice"
    PAYMENT_CONFIRMATION = "payment_confirmation", "Payment confirmation"
    REFUND_CONFIRMATION = "refund_confirmation", "Refund confirmation"
    MANDATE_CONFIRMATION = "mandate_confirmation", "Mandate confirmation"
    REMINDER = "reminder", "Reminder"
    FINAL_NOTICE = "final_notice", "Final notice"
    FAILED_COLLECTION = "failed_collection", "Failed collection"


# The NotificationSettings switch of each kind. The advance notice has its switch in the
# agency's collection settings (``advance_notices_by_hub``), because switching it on also
# makes collection runs hold every debit whose notice did not go out in time.
KIND_SWITCH = {
    NoticeKind.PAYMENT_CONFIRMATION: "payment_confirmations",
    NoticeKind.REFUND_CONFIRMATION: "refund_confirmations",
    NoticeKind.MANDATE_CONFIRMATION: "mandate_confirmations",
    NoticeKind.REMINDER: "reminders",
    NoticeKind.FINAL_NOTICE: "reminders",
    NoticeKind.FAILED_COLLECTION: "failed_collections",
}
# Dunning steps a citizen hears of; later ones (a referral to bailiffs) are the agency's.
DUNNING_STEP_KINDS = {"reminder": NoticeKind.REMINDER, "final_notice": NoticeKind.FINAL_NOTICE}

# The API key scope that may read a notice of each kind: the scope of the object it is
# about (a payment's confirmation is payments' business, a reminder collections').
KIND_READ_SCOPE = {
    NoticeKind.PAYMENT_CONFIRMATION: "payments:read",
    NoticeKind.REFUND_CONFIRMATION: "payments:read",
    NoticeKind.ADVANCE_NOTICE: "collections:read",
    NoticeKind.MANDATE_CONFIRMATION: "collections:read",
    NoticeKind.REMINDER: "collections:read",
    NoticeKind.FINAL_NOTICE: "collections:read",
    NoticeKind.FAILED_COLLECTION: "collections:read",
}
