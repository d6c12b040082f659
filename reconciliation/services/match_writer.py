"""Writing matches in batches, and the ledger postings a bank receipt causes.

Matches are buffered and inserted with a few bulk inserts per batch of lines: a run
over a 100,000-line statement must not make 300,000 single-row inserts.

A bank line matched to money a provider held (a Stripe payout, a sandbox settlement)
moves it in the ledger from ``provider_clearing`` to ``bank``. Payments owns every
ledger line, so it posts that (``payments.services.post_bank_movement``, keyed by the
statement line: a line is posted once however often it is reconciled); reconciliation
says only which line was matched with what.
"""

from __future__ import annotations

from django.utils import timezone

from hub import bulk
from payments import services as payment_services
from reconciliation.engine.items import ExpectedItem, PlannedMatch
from reconciliation.models import (
    Channel,
    ItemKind,
    Match,
    MatchItem,
    MatchLine,
    ReconciliationRun,
    StatementLine,
)
from tenants.ids import new_id
from tenants.models import Tenant


class MatchWriter:
    def __init__(self, *, tenant: Tenant, run: ReconciliationRun | None) -> None:
        self.tenant = tenant
        self.run = run
        self._pending: list[PlannedMatch] = []
        self.count = 0

    def add(
        self,
        *,
        method: str,
        channel: str,
        lines: list[StatementLine],
        items: list[ExpectedItem],
        note: str = "",
    ) -> PlannedMatch:
        first = lines[0] if lines else items[0]
        match = PlannedMatch(
            pk=new_id("mat"),
            method=method,
            channel=channel,
            currency=first.currency,
            lines=lines,
            items=items,
            note=note,
        )
        self._pending.append(match)
        return match

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        tenant_id, now = self.tenant.pk, timezone.now()
        bulk.insert(
            Match,
            [
                {
                    "id": match.pk,
                    "tenant_id": tenant_id,
                    "run_id": self.run.pk if self.run else None,
                    "method": match.method,
                    "channel": match.channel,
                    "currency": match.currency,
                    "reported_amount": match.reported_amount,
                    "expected_amount": match.expected_amount,
                    "note": match.note,
                    "created_at": now,
                }
                for match in pending
            ],
        )
        bulk.insert(
            MatchLine,
            [
                {"tenant_id": tenant_id, "match_id": match.pk, "line_id": line.pk}
                for match in pending
                for line in match.lines
            ],
        )
        bulk.insert(
            MatchItem,
            [
                {
                    "tenant_id": tenant_id,
                    "match_id": match.pk,
                    "kind": item.kind,
                    "object_id": item.object_id,
                    "amount": item.amount,
                }
                for match in pending
                for item in match.items
            ],
        )
        for match in pending:
            post_bank_movement(tenant=self.tenant, match=match)
        self.count += len(pending)


def post_bank_movement(*, tenant: Tenant, match: PlannedMatch) -> None:
    """Have payments move what the bank reported for provider-held items from clearing
    to bank (it owns the ledger; see payments.postings.bank_movement)."""
    lines, items = match.lines, match.items
    if match.channel != Channel.BANK or not lines or not items:
        return
    if any(item.kind == ItemKind.RETURN for item in items):
        return  # payments posts a return against the account the debit was collected to
    first = lines[0]
    payment_services.post_bank_movement(
        tenant=tenant,
        currency=match.currency,
        statement_line_id=first.pk,
        booked_on=first.booking_date,
        reported_amount=match.reported_amount,
        items=[(item.object_id, item.provider, item.amount) for item in items],
        payout=any(item.kind == ItemKind.PAYOUT for item in items),
    )
