"""The strong-reference pass as one query: which unmatched lines the engine would match
to which payment by reference alone, decided in PostgreSQL for a whole period.

``Matcher.match_by_reference`` looks a batch of lines' tokens up, then decides line by
line in Python. For the common case, a bank credit naming one collected payment by its
hub id, provider reference or end-to-end id with the right amount, that decision needs
no Python at all: this query joins every unmatched line's stored tokens (normalised at
import, ``engine.references``) to the payments payments' selector exposes
(``payments.selectors.reference_candidates``), compares amounts in the same query, and
returns the pairs. Everything else is left to the engine, unchanged.

**Only what the engine would decide the same way, whatever the order.** The engine
works through lines in (booking date, id) order, and an earlier line can take an item
a later one names, pair it as a reversal, or change which token class decides. So a
pair is returned only when none of that can happen:

- the line is a booked bank credit the engine would resolve by reference alone: not a
  reversal or return, at most one transaction detail, no batch reference, no Stripe
  payout id (``po_…``) among its tokens;
- among the line's hub, provider and structured tokens, the strongest class naming any
  candidate (a successful, non-Stripe payment in the line's currency) names exactly one;
  no token of the line names a failed direct debit (a returned debit is a candidate the
  engine finds through the payment's timeline: the engine decides those lines);
- the line's amount is within the tolerance of the payment's net amount (otherwise the
  engine matches it and raises ``amount_differs``);
- the payment is matched by nothing yet, is named by no token of any other unmatched
  line of the period, by no transaction detail the engine reads item by item
  (``reserved_tokens``), and is not in a collection run a line books as one batch
  (``reserved_batches``);
- no unmatched reversal of the line's amount is in the period (it could pair with it).

PostgreSQL only (``jsonb_array_elements`` over the stored tokens); elsewhere the run
uses the engine for every line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db import connection

from payments import selectors as payment_selectors
from reconciliation.engine import references
from reconciliation.models import (
    Channel,
    ItemKind,
    MatchItem,
    MatchLine,
    StatementLine,
    StatementLineDetail,
)
from tenants.scope import require_tenant

STRIPE = "stripe"


@dataclass(frozen=True, slots=True)
class StrongMatch:
    line_id: str
    booking_date: date
    line_amount: int
    currency: str
    payment_id: str
    net_amount: int  # what the bank should show: the payment's amount less its fee
    provider: str


def available() -> bool:
    return connection.vendor == "postgresql"


def reserved_tokens(start: date, end: date) -> list[str]:
    """Tokens of the period's unmatched lines the engine reads detail by detail (batch
    bookings, returns): an item one of them names is the engine's to decide."""
    lines = (
        _unmatched_lines(start, end)
        .filter(detail_count__gt=1)
        .union(_unmatched_lines(start, end).exclude(return_reason_code=""))
        .values("pk")
    )
    details = StatementLineDetail.objects.filter(line_id__in=lines).only(
        "end_to_end_id", "creditor_reference", "instruction_id", "remittance_text"
    )
    tokens: set[str] = set()
    for detail in details.iterator(chunk_size=2000):
        tokens.update(references.detail_tokens(detail))
    return sorted(tokens)


def reserved_batches(start: date, end: date) -> list[str]:
    """Collection runs (pain.008 PmtInfId) that unmatched lines of the period book."""
    return sorted(
        _unmatched_lines(start, end)
        .exclude(batch_reference="")
        .values_list("batch_reference", flat=True)
        .distinct()
    )


def strong_matches(
    *, start: date, end: date, tolerance: int, chunk_size: int
) -> Iterator[list[StrongMatch]]:
    """The pairs described above for lines booked from ``start`` to ``end``, in chunks,
    read through a server-side cursor: memory is one chunk's, however long the period."""
    sql, params = strong_matches_sql(start=start, end=end, tolerance=tolerance)
    with connection.chunked_cursor() as cursor:
        with hash_joins_only():
            # The plan is made here (DECLARE); outside a transaction the result is also
            # computed here, into the held cursor, and read by the fetches below.
            cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield [StrongMatch(*row) for row in rows]


def strong_matches_sql(*, start: date, end: date, tolerance: int) -> tuple[str, list]:
    """The query of ``strong_matches`` and its parameters: rows of ``StrongMatch``'s
    fields in that order, ordered by the line's booking date and id (the engine's order),
    for a caller that writes them with ``INSERT … SELECT`` (plan it under
    ``hash_joins_only``)."""
    tenant = require_tenant()
    # Payments' rows, already scoped to the agency by payments' own manager.
    candidates = payment_selectors.reference_candidates().order_by()
    payments_sql, payments_params = candidates.query.sql_with_params()
    matched_sql, matched_params = _matched_payments_sql()
    quote = connection.ops.quote_name
    line_table = quote(StatementLine._meta.db_table)
    link_table = quote(MatchLine._meta.db_table)
    # Composed of Django-generated SQL and quoted table names only; values are parameters.
    sql = f"""
        WITH pay AS MATERIALIZED ({payments_sql}),
        lines AS MATERIALIZED (
            SELECT l.id, l.booking_date, l.amount, l.currency, l.channel, l.status,
                   l.is_reversal, l.return_reason_code, l.detail_count, l.batch_reference,
                   l."references" AS refs
            FROM {line_table} l
            WHERE l.tenant_id = %s AND l.booking_date BETWEEN %s AND %s
              AND NOT EXISTS (SELECT 1 FROM {link_table} ml WHERE ml.line_id = l.id)
        ),
        tokens AS MATERIALIZED (
            SELECT l.id AS line_id, l.currency,
                   CASE t.value->>0 WHEN %s THEN 0 WHEN %s THEN 1 WHEN %s THEN 2 ELSE 3 END
                       AS rank,
                   t.value->>1 AS token
            FROM lines l CROSS JOIN LATERAL jsonb_array_elements(l.refs) AS t(value)
        ),
        -- What each token names, with what decides whether it is a candidate carried
        -- along: every later step filters or groups this, joining nothing again.
        hits AS MATERIALIZED (
            SELECT tk.line_id, tk.rank, p.id AS payment_id, p.succeeded,
                   p.provider <> %s AND p.currency = tk.currency AS candidate
              FROM tokens tk JOIN pay p ON p.id = tk.token
            UNION
            SELECT tk.line_id, tk.rank, p.id, p.succeeded,
                   p.provider <> %s AND p.currency = tk.currency
              FROM tokens tk JOIN pay p ON p.provider_reference = tk.token
            UNION
            SELECT tk.line_id, tk.rank, p.id, p.succeeded,
                   p.provider <> %s AND p.currency = tk.currency
              FROM tokens tk JOIN pay p ON p.reference = tk.token
        ),
        candidates AS (
            SELECT line_id, rank, payment_id FROM hits
            WHERE rank < 3 AND succeeded AND candidate
        ),
        strongest AS (
            SELECT line_id, min(rank) AS rank FROM candidates GROUP BY line_id
        ),
        chosen AS (
            SELECT c.line_id, min(c.payment_id) AS payment_id
            FROM candidates c
            JOIN strongest s ON s.line_id = c.line_id AND s.rank = c.rank
            GROUP BY c.line_id
            HAVING count(*) = 1
        ),
        named AS (
            SELECT payment_id, count(DISTINCT line_id) AS lines FROM hits GROUP BY payment_id
        ),
        doubtful AS (
            SELECT line_id FROM hits WHERE NOT succeeded
            UNION
            SELECT line_id FROM tokens WHERE left(token, 3) = %s
        )
        SELECT l.id, l.booking_date, l.amount, l.currency, p.id, p.net_amount, p.provider
        FROM chosen c
        JOIN lines l ON l.id = c.line_id
        JOIN pay p ON p.id = c.payment_id
        JOIN named n ON n.payment_id = p.id AND n.lines = 1
        WHERE l.channel = %s AND l.status IN ('', 'BOOK') AND l.amount > 0
          AND NOT l.is_reversal AND l.return_reason_code = '' AND l.detail_count <= 1
          AND l.batch_reference = ''
          AND abs(l.amount - p.net_amount) <= %s
          AND NOT EXISTS (SELECT 1 FROM doubtful d WHERE d.line_id = l.id)
          AND NOT EXISTS (
              SELECT 1 FROM lines r
              WHERE r.is_reversal AND r.currency = l.currency AND r.amount = -l.amount
          )
          AND NOT EXISTS ({matched_sql})
          AND NOT (p.id = ANY(%s) OR p.provider_reference = ANY(%s) OR p.reference = ANY(%s))
          AND (p.batch_reference IS NULL OR NOT p.batch_reference = ANY(%s))
        ORDER BY l.booking_date, l.id
    """  # noqa: S608
    reserved = reserved_tokens(start, end)
    params = [
        *payments_params,
        tenant.pk,
        start,
        end,
        references.HUB,
        references.PROVIDER,
        references.STRUCTURED,
        STRIPE,
        STRIPE,
        STRIPE,
        "po_",
        Channel.BANK,
        tolerance,
        *matched_params,
        reserved,
        reserved,
        reserved,
        reserved_batches(start, end),
    ]
    return sql, params


@contextlib.contextmanager
def hash_joins_only() -> Iterator[None]:
    """Plan the query with hash and merge joins only.

    The planner cannot estimate the CTEs (a JSON array's elements, the groups of
    ``named``): it took them for a row or two and chose nested loops that compare
    every payment with every line, minutes at 20,000 lines instead of a second. Every
    join here is between whole sets, which hash joins do in one pass each. JIT is off
    too: compiling this query cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_nestloop = off")
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_nestloop")
            cursor.execute("RESET jit")


def _unmatched_lines(start: date, end: date):
    return StatementLine.objects.filter(booking_date__gte=start, booking_date__lte=end).exclude(
        pk__in=MatchLine.objects.values("line_id")
    )


def _matched_payments_sql() -> tuple[str, tuple]:
    """ "p.id is a payment some match holds", through the tenant-scoped manager (the
    unique index on (tenant, kind, object_id) answers it)."""
    subquery = MatchItem.objects.filter(kind=ItemKind.PAYMENT).values("object_id")
    sql, params = subquery.query.sql_with_params()
    return f"SELECT 1 FROM ({sql}) matched WHERE matched.object_id = p.id", params  # noqa: S608
