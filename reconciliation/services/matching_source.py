"""The matching engine's link to the database (engine.matching.MatchingSource).

The engine decides; this gives it what it reads (reconciliation's selectors, and
payments' through them) and does the one thing it has payments do: a direct-debit
return found in a bank statement is recorded by ``payments.services`` (idempotent, so
a return Stripe or a pain.002 reported already is not applied twice), and the payment
is read again as payments now records it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.selectors import DisputeFacts, PaymentFacts
from reconciliation.engine.items import ExpectedItem, Found
from reconciliation.models import StatementLine, StatementLineDetail
from reconciliation.selectors import lookups, matches, statements


class DatabaseSource:
    """Reads inside the caller's tenant scope (a run's, a resolution's)."""

    def find_by_tokens(self, tokens: Iterable[str]) -> Found:
        return lookups.find_by_tokens(tokens)

    def line_details(self, line_ids: list[str]) -> dict[str, list[StatementLineDetail]]:
        return statements.line_details(line_ids)

    def matched_keys(self, items: Iterable[ExpectedItem]) -> set[tuple[str, str]]:
        return matches.matched_keys(items)

    def by_batch_reference(self, reference: str) -> list[ExpectedItem]:
        return lookups.by_batch_reference(reference)

    def bank_credits_near(
        self, *, currency: str, amounts: Iterable[int], tolerance: int, start: date, end: date
    ) -> list[ExpectedItem]:
        return lookups.bank_credits_near(
            currency=currency, amounts=amounts, tolerance=tolerance, start=start, end=end
        )

    def direct_debits_between(self, *, currency: str, start: date, end: date) -> list[ExpectedItem]:
        return lookups.direct_debits_between(currency=currency, start=start, end=end)

    def earlier_match(self, line: StatementLine) -> tuple[str, list[ExpectedItem]] | None:
        return matches.earlier_match(line)

    def reversal_candidates(
        self, line: StatementLine, *, lookback: timedelta
    ) -> list[StatementLine]:
        return statements.reversal_candidates(line, lookback=lookback)

    def recorded_dispute(self, provider_ids: list[str]) -> DisputeFacts | None:
        return lookups.recorded_dispute(provider_ids)

    def record_return(
        self, payment_id: str, *, reason_code: str, returned_on: date, source: str
    ) -> PaymentFacts | None:
        payment_services.record_direct_debit_return(
            payment=payment_selectors.payment_by_id(payment_id),
            reason_code=reason_code,
            returned_on=returned_on,
            source=source,
        )
        return lookups.payment_by_id(payment_id)
