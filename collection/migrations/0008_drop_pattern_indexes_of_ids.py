"""Drop the ``varchar_pattern_ops`` copies of the id indexes of the tables
a collection run inserts and updates for every instalment (issue 14; why: hub/pattern_indexes.py)."""

from django.db import migrations

from hub.pattern_indexes import drop_pattern_indexes

TABLES = ("Instalment", "CollectionAttempt", "Mandate")


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0007_advance_notices"),
    ]

    operations = [drop_pattern_indexes("collection", TABLES)]
