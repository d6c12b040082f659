"""Writing the strong-reference pass decided in the database (selectors.strong_references).

The pairs arrive in chunks from a server-side cursor; each chunk's matches, their line
and item links go in with three COPYs (hub.bulk) in the batch transaction the caller
gives, exactly the rows MatchWriter writes for a reference match the engine decides.
What is left unmatched goes through the engine's passes as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.utils import timezone

from hub import bulk
from payments import services as payment_services
from reconciliation.models import Channel, ItemKind, Match, MatchItem, MatchLine, ReconciliationRun
from reconciliation.selectors import strong_references
from tenants.ids import new_id
from tenants.models import Tenant

CHUNK = 5000


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
    written = 0
    for pairs in strong_references.strong_matches(
        start=start, end=end, tolerance=tolerance, chunk_size=CHUNK
    ):
        with batch():
            _write(tenant=tenant, run=run, pairs=pairs)
        written += len(pairs)
    return written


def _write(
    *, tenant: Tenant, run: ReconciliationRun | None, pairs: list[strong_references.StrongMatch]
) -> None:
    tenant_id, run_id, now = tenant.pk, run.pk if run else None, timezone.now()
    ids = [new_id("mat") for _ in pairs]
    bulk.insert(
        Match,
        [
            {
                "id": match_id,
                "tenant_id": tenant_id,
                "run_id": run_id,
                "method": Match.Method.REFERENCE,
                "channel": Channel.BANK,
                "currency": pair.currency,
                "reported_amount": pair.line_amount,
                "expected_amount": pair.net_amount,
                "note": "",
                "created_at": now,
            }
            for match_id, pair in zip(ids, pairs, strict=True)
        ],
    )
    bulk.insert(
        MatchLine,
        [
            {"tenant_id": tenant_id, "match_id": match_id, "line_id": pair.line_id}
            for match_id, pair in zip(ids, pairs, strict=True)
        ],
    )
    bulk.insert(
        MatchItem,
        [
            {
                "tenant_id": tenant_id,
                "match_id": match_id,
                "kind": ItemKind.PAYMENT,
                "object_id": pair.payment_id,
                "amount": pair.net_amount,
            }
            for match_id, pair in zip(ids, pairs, strict=True)
        ],
    )
    # As MatchWriter does for every bank match: payments moves money a provider held
    # (a sandbox settlement) to the bank; bank-file direct debits move nothing.
    for pair in pairs:
        payment_services.post_bank_movement(
            tenant=tenant,
            currency=pair.currency,
            statement_line_id=pair.line_id,
            booked_on=pair.booking_date,
            reported_amount=pair.line_amount,
            items=[(pair.payment_id, pair.provider, pair.net_amount)],
            payout=False,
        )
