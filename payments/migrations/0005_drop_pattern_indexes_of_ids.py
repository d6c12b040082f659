"""Drop the ``varchar_pattern_ops`` copies of the id indexes of the tables
every payment request and every collection run and settlement write row by row (issue 14; why: hub/pattern_indexes.py)."""

from django.db import migrations

from hub.pattern_indexes import drop_pattern_indexes

TABLES = ("Payment", "PaymentEvent", "LedgerTransaction", "LedgerLine")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_payment_links_and_language"),
    ]

    operations = [drop_pattern_indexes("payments", TABLES)]
