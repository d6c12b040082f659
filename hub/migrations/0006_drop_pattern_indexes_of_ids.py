"""Drop the ``varchar_pattern_ops`` copies of the id indexes of the tables
every request and every event write: the outbox, receipts, deliveries, audit and idempotency (issue 14; why: hub/pattern_indexes.py)."""

from django.db import migrations

from hub.pattern_indexes import drop_pattern_indexes

TABLES = (
    "Event",
    "SubscriberReceipt",
    "WebhookDelivery",
    "WebhookAttempt",
    "AuditEntry",
    "IdempotencyRecord",
)


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0005_event_retry_at"),
    ]

    operations = [drop_pattern_indexes("hub", TABLES)]
