"""Dropping the ``varchar_pattern_ops`` copies Django makes of the id indexes (issue 14).

Django's PostgreSQL backend gives every indexed or unique ``CharField`` (the hub's
prefixed ids, the ``tenant_id`` and other foreign keys, references) a second index,
``…_like``, so that ``LIKE 'prefix%'`` can use one. Nothing in the hub reads these
columns by prefix: they are looked up and joined by equality, and the admin searches
with ``icontains``, which no B-tree serves. Yet every insert, and every update that
changes an indexed column (a payment's or an instalment's state), writes an entry in
each of them: 11 of a payment's 24 indexes, 6 of an instalment's 13.

A migration of the tables that batch paths write row by row lists its models and
uses ``drop_pattern_indexes``. The equality indexes, primary keys and unique
constraints are untouched. PostgreSQL only; the reverse recreates the indexes exactly
as Django made them. Django drops a ``_like`` index with ``DROP INDEX IF EXISTS`` when
a field changes, so later migrations of these fields are unaffected.
"""

from __future__ import annotations

from django.db import migrations


def drop_pattern_indexes(app_label: str, model_names: tuple[str, ...]) -> migrations.RunPython:
    def indexed_fields(apps):
        for name in model_names:
            model = apps.get_model(app_label, name)
            for field in model._meta.local_fields:
                if field.db_index or field.unique:
                    yield model, field

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for model, field in indexed_fields(apps):
            name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")

    def recreate(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for model, field in indexed_fields(apps):
            statement = schema_editor._create_like_index_sql(model, field)
            if statement is not None:
                schema_editor.execute(statement)

    return migrations.RunPython(drop, recreate)
