"""Writing the strong-reference pass decided in the database (selectors.strong_references),
and the report rows of the lines a run finds matched, written by the database.

The pairs are computed once into a temporary table, each with its match's id made by
PostgreSQL; each chunk's matches, their line and item links go in with three
``INSERT … SELECT`` from it in the batch transaction the caller gives, exactly the rows
MatchWriter writes for a reference match the engine decides.
What is left unmatched goes through the engine's passes as before.

``report_matched_lines`` writes, with one ``INSERT … SELECT``, the report rows the run's
Python report (``runs._Reconciliation._report_matched_lines``) would write for the
period's matched lines whose match is plainly settled: items that are all payments or
returns (labelled by ``payments.selectors.payment_label_rows``, joined as SQL) and no
exception about the match. Everything else (refunds, payouts, questioned or itemless
matches, unmatched lines) the run reports line by line as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from payments import selectors as payment_selectors
from payments import services as payment_services
from reconciliation.models import (
    Channel,
    ItemKind,
    Match,
    MatchItem,
    MatchLine,
    ReconciliationException,
    ReconciliationRun,
    RunItem,
    StatementLine,
)
from reconciliation.selectors import strong_references
from tenants.ids import id_bits_sql, id_sql
from tenants.models import Tenant

CHUNK = 5000
# A temporary table of the connection running the pass (see _pairs_table).
PAIRS_TABLE = "reconciliation_strong_pairs"
# StrongMatch's fields, in order.
PAIR_COLUMNS = "line_id, booking_date, line_amount, currency, payment_id, net_amount, provider"


def enabled() -> bool:
    """On PostgreSQL unless switched off (``RECONCILIATION_SET_MATCHING = False``, which
    the equivalence tests use to run the engine alone on the same data)."""
    return strong_references.available() and getattr(settings, "RECONCILIATION_SET_MATCHING", True)


def match_strong_references(
    *,
    tenant: Tenant,
    run: ReconciliationRun | None,
    start: date,
    end: date,
    tolerance: int,
    batch: Callable[[], contextlib.AbstractContextManager],
) -> int:
    """Match lines booked from ``start`` to ``end`` the database can decide; how many."""
    with _pairs_table(start=start, end=end, tolerance=tolerance) as count:
        for first in range(0, count, CHUNK):
            with batch():
                _write(tenant=tenant, run=run, first=first, last=min(first + CHUNK, count))
    return count


@contextlib.contextmanager
def _pairs_table(*, start: date, end: date, tolerance: int) -> Iterator[int]:
    """The pairs of ``strong_references.strong_matches_sql`` in a temporary table of this
    connection, numbered from 1 in the engine's order, each with the id its match will
    have (made by PostgreSQL in ``tenants.ids.new_id``'s format); yields how many.

    Computed once, before the first batch, as the held cursor did before: the batches
    then copy ranges of it into the match tables with ``INSERT … SELECT`` and no pair
    passes through Python (memory stays flat whatever the period's size)."""
    sql, params = strong_references.strong_matches_sql(start=start, end=end, tolerance=tolerance)
    table = connection.ops.quote_name(PAIRS_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # Each level is a subquery PostgreSQL does not flatten (a window function,
        # OFFSET 0), so that gen_random_uuid() is drawn once per pair and its bits taken
        # once, however often the id expression reads them.
        create = f"""
            CREATE TEMPORARY TABLE {table} AS
            SELECT n, {id_sql("mat", "drawn_bits")} AS match_id, {PAIR_COLUMNS}
            FROM (
                SELECT drawn.*, {id_bits_sql("drawn_uuid")} AS drawn_bits
                FROM (
                    SELECT row_number() OVER (ORDER BY booking_date, line_id) AS n,
                           gen_random_uuid() AS drawn_uuid, pairs.*
                    FROM ({sql}) AS pairs ({PAIR_COLUMNS})
                ) drawn
                OFFSET 0
            ) bits
        """  # noqa: S608 (Django-generated SQL and constants; values are parameters)
        try:
            with strong_references.hash_joins_only():
                cursor.execute(create, params)
            cursor.execute(f"CREATE UNIQUE INDEX ON {table} (n)")
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            yield cursor.fetchone()[0]
        finally:
            # After a failed statement inside a transaction the table goes with the
            # rollback; the DROP would only fail again.
            with contextlib.suppress(DatabaseError):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _write(*, tenant: Tenant, run: ReconciliationRun | None, first: int, last: int) -> None:
    """The matches of pairs ``first`` + 1 to ``last`` of the pairs table, their line and
    item links (the rows MatchWriter writes for a reference match the engine decides,
    in the pairs' order), and the bank movements of their payments."""
    quote = connection.ops.quote_name
    pairs = quote(PAIRS_TABLE)
    chunk = f"FROM {pairs} WHERE n > %s AND n <= %s ORDER BY n"
    tenant_id, run_id, now = tenant.pk, run.pk if run else None, timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {quote(Match._meta.db_table)} (
                    tenant_id, id, run_id, method, channel, currency, reported_amount,
                    expected_amount, note, created_at)
                SELECT %s, match_id, %s, %s, %s, currency, line_amount, net_amount, '', %s
                {chunk}""",
            [tenant_id, run_id, Match.Method.REFERENCE, Channel.BANK, now, first, last],
        )
        cursor.execute(
            f"""INSERT INTO {quote(MatchLine._meta.db_table)} (tenant_id, match_id, line_id)
                SELECT %s, match_id, line_id {chunk}""",
            [tenant_id, first, last],
        )
        cursor.execute(
            f"""INSERT INTO {quote(MatchItem._meta.db_table)} (
                    tenant_id, match_id, kind, object_id, amount)
                SELECT %s, match_id, %s, payment_id, net_amount {chunk}""",
            [tenant_id, ItemKind.PAYMENT, first, last],
        )
        cursor.execute(f"SELECT {PAIR_COLUMNS} {chunk}", [first, last])
        rows = cursor.fetchall()
    # As MatchWriter does for every bank match: payments moves money a provider held
    # (a sandbox settlement) to the bank; bank-file direct debits move nothing.
    for pair in (strong_references.StrongMatch(*row) for row in rows):
        payment_services.post_bank_movement(
            tenant=tenant,
            currency=pair.currency,
            statement_line_id=pair.line_id,
            booked_on=pair.booking_date,
            reported_amount=pair.line_amount,
            items=[(pair.payment_id, pair.provider, pair.net_amount)],
            payout=False,
        )


@dataclass(frozen=True, slots=True)
class ReportedDay:
    """What the lines of one currency and day that ``report_matched_lines`` reported
    add to the run's totals (every one of them is a line the hub explains)."""

    currency: str
    day: date
    received: int  # booked bank lines (and, for a currency, whether there were any)
    has_received: bool
    provider_fees: int  # Stripe lines' fees
    has_provider_fees: bool


def report_matched_lines(
    *, tenant: Tenant, run: ReconciliationRun, start: date, end: date, now
) -> list[ReportedDay]:
    """Write the report rows of the matched lines booked from ``start`` to ``end``
    described in the module docstring; return what they add to the totals.

    PostgreSQL only (``->`` on the stored tokens), inside the caller's transaction, and
    before any other report row of the run: the lines with a row of the run afterwards
    are exactly the ones reported here (the run's line pages leave them out)."""
    quote = connection.ops.quote_name

    def table(model) -> str:
        return quote(model._meta.db_table)

    labels_sql, labels_params = payment_selectors.payment_label_rows().query.sql_with_params()
    # Composed of Django-generated SQL and quoted table names only; values are parameters.
    sql = f"""
        INSERT INTO {table(RunItem)} (
            tenant_id, run_id, status, channel, currency, date, line_id, reported_amount,
            item_kind, item_id, expected_amount, reference, counterparty, method, reason,
            match_id, exception_id, created_at
        )
        SELECT %s, %s,
               CASE WHEN m.method = %s THEN %s ELSE %s END,
               l.channel, l.currency, l.booking_date, l.id,
               -- The line's amount on its first item's row, as the Python report does
               -- (ordered as the rows are written, so that one sort serves both).
               CASE WHEN lag(l.id) OVER (ORDER BY l.booking_date, l.id, i.id)
                         IS DISTINCT FROM l.id
                    THEN l.amount END,
               i.kind, i.object_id, i.amount,
               left(COALESCE(NULLIF(pl.reference, ''), l."references"->0->>1,
                             l.entry_reference), 255),
               left(COALESCE(NULLIF(pl.payer, ''), l.counterparty_name), 255),
               m.method, m.note, m.id, NULL, %s
        FROM {table(StatementLine)} l
        JOIN {table(MatchLine)} ml ON ml.line_id = l.id
        JOIN {table(Match)} m ON m.id = ml.match_id
        JOIN {table(MatchItem)} i ON i.match_id = m.id
        LEFT JOIN ({labels_sql}) pl ON pl.id = i.object_id
        WHERE l.tenant_id = %s AND l.booking_date BETWEEN %s AND %s
          AND NOT EXISTS (
              SELECT 1 FROM {table(MatchItem)} other
              WHERE other.match_id = m.id AND other.kind NOT IN (%s, %s)
          )
          AND NOT EXISTS (
              SELECT 1 FROM {table(ReconciliationException)} e WHERE e.match_id = m.id
          )
        ORDER BY l.booking_date, l.id, i.id
    """  # noqa: S608
    params = [
        tenant.pk,
        run.pk,
        Match.Method.MANUAL,
        RunItem.Status.RESOLVED,
        RunItem.Status.MATCHED,
        now,
        *labels_params,
        tenant.pk,
        start,
        end,
        ItemKind.PAYMENT,
        ItemKind.RETURN,
    ]
    totals_sql = f"""
        SELECT l.currency, l.booking_date,
               -- sum() of bigint is numeric: the totals are integers (minor units).
               COALESCE(sum(l.amount) FILTER (WHERE l.channel <> %s
                                                AND l.status IN ('', 'BOOK')), 0)::bigint,
               bool_or(l.channel <> %s AND l.status IN ('', 'BOOK')),
               COALESCE(sum(l.fee) FILTER (WHERE l.channel = %s), 0)::bigint,
               bool_or(l.channel = %s)
        FROM {table(StatementLine)} l
        WHERE l.tenant_id = %s AND l.id IN (
            SELECT r.line_id FROM {table(RunItem)} r WHERE r.run_id = %s
        )
        GROUP BY l.currency, l.booking_date
        ORDER BY l.currency, l.booking_date
    """  # noqa: S608
    stripe = Channel.STRIPE
    with connection.cursor() as cursor:
        # The rows are sorted once, in memory rather than in temporary files (a sort of
        # 100,000 rows needs some 30 MB); for this transaction only.
        cursor.execute("SET LOCAL work_mem = '32MB'")
        # Compiling the statement (JIT) cost more than it saved.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        cursor.execute(totals_sql, [stripe, stripe, stripe, stripe, tenant.pk, run.pk])
        return [ReportedDay(*row) for row in cursor.fetchall()]
