"""Report rows lose their index on ``run_id`` alone: the (run, status, id) index serves
every read by run (issue 14: one index fewer to write per report row).

Django would drop and re-add the foreign key to change ``db_index`` (validating every
report row again under lock); only the index goes, the constraint stays as it is.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "reconciliation_runitem_run_id_a6a24429"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX)}")


def recreate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(INDEX)} "
            'ON "reconciliation_runitem" ("run_id")'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0004_drop_pattern_indexes_of_ids"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, recreate)],
            state_operations=[
                migrations.AlterField(
                    model_name="runitem",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="reconciliation.reconciliationrun",
                    ),
                ),
            ],
        ),
    ]
