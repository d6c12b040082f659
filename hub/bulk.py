"""Inserting many rows fast: PostgreSQL's COPY, Django's bulk_create elsewhere.

A 100,000-entry statement writes a line and a detail per entry, and its run a match,
its links and a report row per line. Most of that time went into Django building a
model instance per row and preparing each field of each INSERT, so the hot paths hand
plain rows (attribute name → value) to ``insert``, which streams them to COPY in the
caller's transaction.

Only for rows written once and not read back in the same step: COPY does not return
database-generated ids (rows whose id is needed carry their prefixed id already).

Platform code: it knows nothing of any app's rows (any tenant-owned model will do), so
it lives in hub for every app to use.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence

from django.db import connection, models

from tenants.scope import require_tenant

BATCH_SIZE = 2000
_MISSING = object()


def insert(model: type[models.Model], rows: Sequence[dict]) -> None:
    """Insert ``rows`` ({attname: value}; absent fields take their defaults)."""
    if not rows:
        return
    tenant = require_tenant()  # the same fail-closed rule the scoped managers apply
    if any(row["tenant_id"] != tenant.pk for row in rows):
        raise ValueError(f"{model.__name__}: every row must belong to {tenant.slug}")
    copy_rows(model, rows)


def copy_rows(model: type[models.Model], rows: Sequence[dict]) -> None:
    """``insert`` without its one-agency rule, for platform code whose rows each name
    their own agency (the outbox: a life event's fan-out is one row per agency)."""
    if not rows:
        return
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField | models.BigAutoField))
    ]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH_SIZE)
        return
    # The columns in the order the rows give them (one itemgetter call per row), then
    # those no row gives, from their defaults: per-field work once per batch, not once
    # per value (100,000 lines with their details and report rows are 2 million values).
    given = rows[0].keys()
    present = [field for field in fields if field.attname in given]
    absent = [field for field in fields if field.attname not in given]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in present + absent)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    take = operator.itemgetter(*[field.attname for field in present]) if present else None
    json_at = [
        (index, field) for index, field in enumerate(present) if isinstance(field, models.JSONField)
    ]
    constant = all(not callable(field.default) for field in absent)
    defaults = tuple(_default(field) for field in absent) if constant else ()
    plan = [
        (field.attname, field, isinstance(field, models.JSONField)) for field in present + absent
    ]
    # Raised through Django's error wrapper: a duplicate is an IntegrityError as usual.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            if row.keys() != given:  # a row that gives other fields than the first
                copy.write_row([_value(row, name, field, is_json) for name, field, is_json in plan])
                continue
            picked = take(row) if take is not None else ()
            values = list(picked) if len(present) > 1 else [picked] if present else []
            for index, field in json_at:
                if values[index] is not None:
                    values[index] = json.dumps(values[index], cls=field.encoder)
            if absent:
                values.extend(defaults if constant else [_default(field) for field in absent])
            copy.write_row(values)


def _default(field: models.Field):
    value = field.get_default()
    if isinstance(field, models.JSONField) and value is not None:
        return json.dumps(value, cls=field.encoder)
    return value


def insert_objects(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """``insert`` for unsaved model instances (their prefixed ids already set): what
    ``bulk_create`` does, by COPY on PostgreSQL. ``auto_now``/``auto_now_add`` fields
    are stamped as a save would."""
    stamped = [
        field
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    names = [field.attname for field in model._meta.concrete_fields]
    values = operator.attrgetter(*names)  # one C call per row, not a getattr per field
    rows = []
    for instance in objects:
        for field in stamped:
            field.pre_save(instance, add=True)
        picked = values(instance)
        rows.append(dict(zip(names, picked if len(names) > 1 else (picked,), strict=True)))
    insert(model, rows)


def update(model: type[models.Model], rows: Sequence[dict], fields: Sequence[str]) -> None:
    """Set ``fields`` of many rows with one UPDATE per batch: ``rows`` are
    {"pk": …, field: value, …}.

    Django's ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` per field and row:
    quadratic work in Python and in the planner (40 s of a 2,000-instalment run). This
    joins the table to a VALUES list instead. The caller holds the rows' locks already
    (the batch that claimed them), so no ordering is needed here.
    """
    if not rows:
        return
    require_tenant()  # as the scoped managers: no write without an agency's scope
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    postgres = connection.vendor == "postgresql"

    def cast(name: str, field: models.Field) -> str:
        # PostgreSQL types a VALUES column from its first literal (NULL: text): say it.
        return f"CAST(v.{name} AS {field.db_type(connection)})" if postgres else f"v.{name}"

    names = [f"c{index}" for index in range(len(columns))]
    if postgres and not any(isinstance(field, models.JSONField) for field in columns):
        _update_by_arrays(table, key, meta.pk, columns, names, rows)
        return
    assignments = ", ".join(
        f"{quote(field.column)} = {cast(name, field)}"
        for name, field in zip(names, columns, strict=True)
    )
    placeholders = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            params = []
            for row in batch:
                params.append(row["pk"])
                params.extend(
                    field.get_db_prep_save(row[field.attname], connection) for field in columns
                )
            values = ", ".join([placeholders] * len(batch))
            # Only quoted identifiers and %s placeholders are formatted in: the values
            # travel as parameters.
            sql = (
                f"WITH v(pk, {', '.join(names)}) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{key} = v.pk"
            )
            cursor.execute(sql, params)


def _update_by_arrays(table: str, key: str, pk: models.Field, columns, names, rows) -> None:
    """``update`` on PostgreSQL: one array parameter per column, joined by ``unnest``.

    A VALUES list is (fields + 1) placeholders per row, which psycopg's client-side
    binding parses back out of a statement text that differs with every batch size
    (never cached), and quotes value by value: 250 instalments' or 500 payments'
    statement was most of the Python time of the UPDATE. The arrays' statement text is
    the same for every batch."""
    quote = connection.ops.quote_name
    assignments = ", ".join(
        f"{quote(field.column)} = v.{name}" for name, field in zip(names, columns, strict=True)
    )
    arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in [pk, *columns])
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 (identifiers and %s only)
        f"FROM unnest({arrays}) AS v(pk, {', '.join(names)}) WHERE {table}.{key} = v.pk"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            params = [[row["pk"] for row in batch]]
            params.extend(
                [field.get_db_prep_save(row[field.attname], connection) for row in batch]
                for field in columns
            )
            cursor.execute(sql, params)


def _value(row: dict, attname: str, field: models.Field, is_json: bool):
    value = row.get(attname, _MISSING)
    if value is _MISSING:
        value = field.get_default()
    if is_json and value is not None:
        return json.dumps(value, cls=field.encoder)
    return value


# Past this many new rows, the planner's statistics of a table are refreshed at once.
STATISTICS_THRESHOLD = 10_000
# The statistics target refresh_statistics analyses with (PostgreSQL's default is 100).
STATISTICS_TARGET = 10


def refresh_statistics(
    *tables: type[models.Model],
    rows_written: int,
    columns: Mapping[type[models.Model], Sequence[str]] | None = None,
) -> None:
    """ANALYZE tables that just grew by many rows (PostgreSQL only).

    Autovacuum analyses a table some time after it grows; until then the planner thinks
    it is small and joins a tenant index into lookups that the unique or reference index
    answers alone, turning each batch of a large import or run into a scan of everything
    just written. Only reads statistics samples: no table lock that blocks writers.

    ``columns``: for a model, the fields the queries that follow filter, join or group
    on; only their statistics are computed now (the row count is refreshed all the same,
    and autovacuum computes the others later). ANALYZE samples the same rows either way;
    most of its time goes into the statistics of wide free-text and JSON columns.
    """
    if connection.vendor != "postgresql" or rows_written < STATISTICS_THRESHOLD:
        return
    quote = connection.ops.quote_name
    names = []
    for model in tables:
        name = quote(model._meta.db_table)
        fields = (columns or {}).get(model)
        if fields:
            listed = ", ".join(quote(model._meta.get_field(field).column) for field in fields)
            name = f"{name} ({listed})"
        names.append(name)
    with connection.cursor() as cursor:
        # A sample of 300 x STATISTICS_TARGET rows: enough for what the planner lacked (the
        # table's size, the agency's share of it, the new days' range), and about a tenth
        # of the time of the default 30,000 rows on a large table. Autovacuum, due soon
        # after such growth, analyses with the server's default target again.
        cursor.execute(f"SET default_statistics_target = {int(STATISTICS_TARGET)}")
        try:
            cursor.execute(f"ANALYZE {', '.join(names)}")
        finally:
            cursor.execute("RESET default_statistics_target")
