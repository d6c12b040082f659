"""The matching engine: statement lines against the items the hub expects.

Two passes over a run's unmatched lines, each in batches (memory does not grow with
the statement):

1. **References** (``match_by_reference``). A line's tokens are looked up strongest
   class first (hub id, provider id, end-to-end/creditor reference, remittance word).
   A batch booking is matched item by item from its transaction details, or through its
   payment-information id to the collection run's payments: one line, many items. A
   direct-debit return is sent to payments (``record_direct_debit_return``, which is
   idempotent, so a return Stripe already reported is not applied twice) and matched to
   the return. A reversal is paired with the booking it reverses. A reference to an item
   that is matched already is a duplicate receipt; an amount outside the tolerance is
   matched but raised as ``amount_differs``.
2. **Amount, date and payer** (``match_by_amount``), for credits no reference
   explained: an unmatched item of the same amount (± tolerance) within the date
   window, the payer's name breaking ties. Two equally good candidates match neither: a
   wrong automatic match is worse than an exception a person resolves. A lump sum equal
   to one day's direct debits is then matched to them ("batch deposit").

The rules only: the matcher reads through a ``MatchingSource`` and hands its matches
and findings to sinks it is given (reconciliation/services/ builds them over the
database), so nothing here queries or writes a table itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from payments.selectors import DisputeFacts, PaymentFacts
from reconciliation.engine import references
from reconciliation.engine.findings import Finding
from reconciliation.engine.items import (
    STRIPE_CREDIT_KINDS,
    STRIPE_RETURN_KINDS,
    ExpectedItem,
    Found,
    PlannedMatch,
    channel_of,
    return_item,
)
from reconciliation.models import (
    Channel,
    ItemKind,
    Match,
    ReconciliationException,
    StatementLine,
    StatementLineDetail,
)

Kind = ReconciliationException.Kind
Method = Match.Method


class MatchingSource(Protocol):
    """What the matcher reads, and the one thing it has another app do (apply a return
    found in a statement). reconciliation/services/matching_source.py implements it over
    the database (reconciliation's selectors, payments' selectors and services)."""

    def find_by_tokens(self, tokens: Iterable[str]) -> Found: ...

    def line_details(self, line_ids: list[str]) -> dict[str, list[StatementLineDetail]]: ...

    def matched_keys(self, items: Iterable[ExpectedItem]) -> set[tuple[str, str]]: ...

    def by_batch_reference(self, reference: str) -> list[ExpectedItem]: ...

    def bank_credits_near(
        self, *, currency: str, amounts: Iterable[int], tolerance: int, start: date, end: date
    ) -> list[ExpectedItem]: ...

    def direct_debits_between(
        self, *, currency: str, start: date, end: date
    ) -> list[ExpectedItem]: ...

    def earlier_match(self, line: StatementLine) -> tuple[str, list[ExpectedItem]] | None: ...

    def reversal_candidates(
        self, line: StatementLine, *, lookback: timedelta
    ) -> list[StatementLine]: ...

    def recorded_dispute(self, provider_ids: list[str]) -> DisputeFacts | None: ...

    def record_return(
        self, payment_id: str, *, reason_code: str, returned_on: date, source: str
    ) -> PaymentFacts | None: ...


class MatchSink(Protocol):
    """Where decided matches go (reconciliation/services/match_writer.py)."""

    def add(
        self,
        *,
        method: str,
        channel: str,
        lines: list[StatementLine],
        items: list[ExpectedItem],
        note: str = "",
    ) -> PlannedMatch: ...

    def flush(self) -> None: ...


class FindingSink(Protocol):
    """Where findings go (reconciliation/services/exception_book.py)."""

    def add(self, finding: Finding) -> None: ...

    def flush(self) -> object: ...


@dataclass(frozen=True)
class Tolerance:
    days: int
    amount: int

    def amount_ok(self, reported: int, expected_amount: int) -> bool:
        return abs(reported - expected_amount) <= self.amount

    def date_ok(self, booked: date, expected_on: date) -> bool:
        return abs((booked - expected_on).days) <= self.days


class Matcher:
    def __init__(
        self,
        *,
        tolerance: Tolerance,
        source: MatchingSource,
        writer: MatchSink,
        book: FindingSink,
        lookback_days: int,
    ) -> None:
        self.tolerance = tolerance
        self.source = source
        self.writer = writer
        self.book = book
        self.lookback = timedelta(days=lookback_days)
        self._claimed: set[tuple[str, str]] = set()
        self._matched_before: set[tuple[str, str]] = set()
        # Lines matched in the current batch (not yet written) and their items.
        self._line_matches: dict[str, tuple[PlannedMatch, list[ExpectedItem]]] = {}
        # Why a line was left unmatched, for the report (this batch only).
        self.reasons: dict[str, str] = {}

    # --- pass 1: references -----------------------------------------------------------

    def match_by_reference(self, lines: list[StatementLine]) -> None:
        self._start_batch()
        details = self.source.line_details(
            [line.pk for line in lines if line.detail_count > 1 or line.return_reason_code]
        )
        tokens = {token for line in lines for _, token in line.references}
        for line_details in details.values():
            for detail in line_details:
                tokens.update(references.detail_tokens(detail))
        found = self.source.find_by_tokens(tokens)
        self._matched_before = self.source.matched_keys(
            item
            for pool in (found.credits, found.debits)
            for items in pool.values()
            for item in items
        )
        for line in lines:
            if line.channel == Channel.STRIPE:
                self._stripe_line(line, found)
            elif not line.is_booked:
                continue
            elif line.return_reason_code or any(
                d.return_reason_code for d in details.get(line.pk, ())
            ):
                self._return_line(line, details.get(line.pk, []), found)
            elif line.is_reversal:
                self._reversal_line(line)
            elif line.amount > 0:
                self._credit_line(line, details.get(line.pk, []), found)
            else:
                self._debit_line(line, found)
        self.writer.flush()
        self.book.flush()

    def _credit_line(
        self, line: StatementLine, details: list[StatementLineDetail], found: Found
    ) -> None:
        if len(details) > 1 and self._batch_by_details(line, details, found):
            return
        if line.batch_reference and self._batch_by_reference(line):
            return
        item = self._resolve(line, found.credits)
        if item is not None:
            self._match_or_duplicate(line, item, Method.REFERENCE)

    def _debit_line(self, line: StatementLine, found: Found) -> None:
        item = self._resolve(line, found.debits)
        if item is not None:
            method = Method.RETURN if item.kind == ItemKind.RETURN else Method.REFERENCE
            self._match_or_duplicate(line, item, method)

    def _batch_by_details(
        self, line: StatementLine, details: list[StatementLineDetail], found: Found
    ) -> bool:
        items: list[ExpectedItem] = []
        unknown, received_before = [], []
        for detail in details:
            candidates = self._candidates(
                line, references.detail_tokens(detail), found.credits, detail.amount
            )
            taken = {i.key for i in items}
            item = next((c for c in candidates if self._free(c) and c.key not in taken), None)
            if item is not None:
                items.append(item)
            elif candidates:
                received_before.append(candidates[0].object_id)
            else:
                unknown.append(detail.end_to_end_id or detail.creditor_reference or "?")
        if not items:
            return False
        notes = []
        if unknown:
            notes.append(f"Not found in the hub: {', '.join(unknown)}")
        if received_before:
            notes.append(f"Received before: {', '.join(received_before)}")
        self._commit(line, items, Method.BATCH, note=". ".join(notes), incomplete=bool(notes))
        return True

    def _batch_by_reference(self, line: StatementLine) -> bool:
        items = [
            item
            for item in self.source.by_batch_reference(line.batch_reference)
            if item.channel == line.channel and item.currency == line.currency and self._free(item)
        ]
        if not items:
            return False
        self._commit(line, items, Method.BATCH, note=f"Collection run {line.batch_reference}")
        return True

    def _return_line(
        self, line: StatementLine, details: list[StatementLineDetail], found: Found
    ) -> None:
        returned = [d for d in details if d.return_reason_code]
        subjects = returned or [None]
        items = []
        for detail in subjects:
            if detail is None:
                tokens = references.tokens_of(
                    line.references, references.HUB, references.PROVIDER, references.STRUCTURED
                )
                code = line.return_reason_code
            else:
                tokens, code = references.detail_tokens(detail), detail.return_reason_code
            item, problem = self._apply_return(line, tokens, code, found)
            if problem is not None:
                self.book.add(problem)
                return
            if not self._free(item) or item.key in {i.key for i in items}:
                self._duplicate(line, item, "This return was booked before")
                return
            items.append(item)
        self._commit(line, items, Method.RETURN)

    def _apply_return(
        self, line: StatementLine, tokens: list[str], code: str, found: Found
    ) -> tuple[ExpectedItem | None, Finding | None]:
        """Tell payments about a return seen in a statement; the return item, or why not."""
        payment_ids = {pid for token in tokens for pid in found.payment_hits.get(token, ())}
        shown = ", ".join(tokens[:3]) or "no reference"
        if len(payment_ids) != 1:
            why = "matches several payments" if payment_ids else "matches no hub payment"
            return None, Finding.about_line(
                Kind.UNKNOWN_RETURN, line, f"Return ({code}) of {shown} {why}"
            )
        payment = found.payments[payment_ids.pop()]
        if not payment.is_direct_debit or channel_of(payment.provider) != Channel.BANK:
            return None, Finding.about_line(
                Kind.UNKNOWN_RETURN,
                line,
                f"Return ({code}) of {payment.pk}, which is not a direct debit collected to the "
                "bank account",
            )
        if payment.may_be_returned:
            payment = self.source.record_return(
                payment.pk,
                reason_code=code,
                returned_on=line.booking_date,
                source=f"bank_statement:{line.pk}",
            )
        if payment.returned_at is None:
            return None, Finding.about_line(
                Kind.UNKNOWN_RETURN,
                line,
                f"Return ({code}) of {payment.pk}, which was never collected "
                f"(state {payment.state})",
            )
        return return_item(payment), None

    def _reversal_line(self, line: StatementLine) -> None:
        original = self._reversed_original(line)
        if original is None:
            return  # explained as an unmatched reversal when the run reports the line
        earlier = self._earlier_match(original)
        if earlier is None:
            match = self.writer.add(
                method=Method.REVERSAL,
                channel=line.channel,
                lines=[original, line],
                items=[],
                note=f"{line.pk} reverses {original.pk}",
            )
            self._line_matches[original.pk] = self._line_matches[line.pk] = (match, [])
            return
        match_id, items = earlier
        if line.amount < 0 and items:
            self.book.add(
                Finding.about_line(
                    Kind.REVERSED_RECEIPT,
                    line,
                    f"The bank reversed receipt {original.pk} of {items[0].object_id} "
                    f"(matched in {match_id})",
                    item=items[0],
                    expected_amount=0,
                )
            )

    def _earlier_match(self, line: StatementLine) -> tuple[str, list[ExpectedItem]] | None:
        """The match (its id) and items of ``line``: decided in this batch, or earlier."""
        if line.pk in self._line_matches:
            match, items = self._line_matches[line.pk]
            return match.pk, items
        return self.source.earlier_match(line)

    def _reversed_original(self, line: StatementLine) -> StatementLine | None:
        candidates = self.source.reversal_candidates(line, lookback=self.lookback)
        own = {token for _, token in line.references} | {line.entry_reference}
        sharing = [
            c
            for c in candidates
            if {token for _, token in c.references} & own
            or (c.entry_reference and c.entry_reference in (line.additional_info or ""))
        ]
        if sharing:
            return sharing[0]
        return candidates[0] if len(candidates) == 1 else None

    def _stripe_line(self, line: StatementLine, found: Found) -> None:
        if line.kind in STRIPE_CREDIT_KINDS:
            pool = found.credits
        elif line.kind == "refund":
            pool = {
                t: [i for i in items if i.kind == ItemKind.REFUND]
                for t, items in found.debits.items()
            }
        elif line.kind in STRIPE_RETURN_KINDS:
            pool = {
                t: [i for i in items if i.kind == ItemKind.RETURN]
                for t, items in found.debits.items()
            }
        elif line.kind == "adjustment" and _is_dispute(line):
            item = self._resolve(line, found.credits)
            self.book.add(
                Finding.about_line(Kind.DISPUTE, line, self._dispute_reason(line, item), item=item)
            )
            return
        else:
            return
        item = self._resolve(line, pool)
        if item is not None:
            method = Method.RETURN if item.kind == ItemKind.RETURN else Method.REFERENCE
            self._match_or_duplicate(line, item, method)

    def _dispute_reason(self, line: StatementLine, item: ExpectedItem | None) -> str:
        """What a dispute line in a payout means, with the dispute as payments recorded it."""
        if line.amount < 0:
            reason = "The payer disputed a payment: Stripe took the money back"
        else:
            reason = "A dispute was decided for the agency: Stripe gave the money back"
        if item is not None:
            reason += f" ({item.object_id})"
        provider_ids = [token for _, token in line.references if token.startswith("dp_")]
        recorded = self.source.recorded_dispute(provider_ids)
        if recorded is not None:
            reason += f"; dispute {recorded.pk}, {recorded.status.replace('_', ' ')}"
        return reason

    # --- pass 2: amount, date and payer -------------------------------------------------

    def match_by_amount(self, lines: list[StatementLine]) -> None:
        """``lines``: booked bank credits no reference explained and no exception holds."""
        self._start_batch()
        by_currency: dict[str, list[StatementLine]] = defaultdict(list)
        for line in lines:
            by_currency[line.currency].append(line)
        window = timedelta(days=self.tolerance.days)
        for currency, group in by_currency.items():
            for part in _slices(group, 200):  # keeps the OR of amount ranges small
                candidates = self.source.bank_credits_near(
                    currency=currency,
                    amounts=[line.amount for line in part],
                    tolerance=self.tolerance.amount,
                    start=min(line.booking_date for line in part) - window,
                    end=max(line.booking_date for line in part) + window,
                )
                self._matched_before = self.source.matched_keys(candidates)
                for line in part:
                    self._best_candidate(line, candidates)
        for line in lines:
            if line.pk not in self._line_matches and _looks_like_batch(line):
                self._same_day_batch(line)
        self.writer.flush()

    def _best_candidate(self, line: StatementLine, candidates: list[ExpectedItem]) -> None:
        options = [
            item
            for item in candidates
            if self._free(item)
            and self.tolerance.amount_ok(line.amount, item.amount)
            and self.tolerance.date_ok(line.booking_date, item.date)
        ]
        if not options:
            return

        def rank(item: ExpectedItem) -> tuple:
            return (
                not _same_party(line.counterparty_name, item.counterparty),
                abs((line.booking_date - item.date).days),
                abs(line.amount - item.amount),
            )

        options.sort(key=rank)
        if len(options) > 1 and rank(options[0]) == rank(options[1]):
            self.reasons[line.pk] = (
                f"{len(options)} unmatched items of this amount within ±{self.tolerance.days} "
                f"days ({', '.join(o.object_id for o in options[:3])}…): match by hand"
            )
            return
        self._commit(line, [options[0]], Method.AMOUNT_DATE)

    def _same_day_batch(self, line: StatementLine) -> None:
        window = timedelta(days=self.tolerance.days)
        debits = [
            item
            for item in self.source.direct_debits_between(
                currency=line.currency,
                start=line.booking_date - window,
                end=line.booking_date + window,
            )
        ]
        self._matched_before = self.source.matched_keys(debits)
        by_day: dict[date, list[ExpectedItem]] = defaultdict(list)
        for item in debits:
            if self._free(item):
                by_day[item.date].append(item)
        fits = [
            items
            for items in by_day.values()
            if len(items) > 1
            and self.tolerance.amount_ok(line.amount, sum(i.amount for i in items))
        ]
        if len(fits) == 1:
            self._commit(
                line, fits[0], Method.SAME_DAY_BATCH, note=f"All direct debits of {fits[0][0].date}"
            )

    # --- shared -------------------------------------------------------------------------

    def _start_batch(self) -> None:
        self._claimed.clear()
        self._line_matches.clear()
        self.reasons = {}

    def _free(self, item: ExpectedItem) -> bool:
        return item.key not in self._claimed and item.key not in self._matched_before

    def _candidates(
        self,
        line: StatementLine,
        tokens: list[str],
        pool: dict[str, list[ExpectedItem]],
        amount: int | None = None,
    ) -> list[ExpectedItem]:
        seen, result = set(), []
        for token in tokens:
            for item in pool.get(token, ()):
                if item.key in seen or item.channel != line.channel:
                    continue
                if item.currency != line.currency:
                    continue
                seen.add(item.key)
                result.append(item)
        if amount is not None and len(result) > 1:
            # A detail's own amount picks between items sharing a reference.
            sign = 1 if line.amount > 0 else -1
            close = [i for i in result if self.tolerance.amount_ok(sign * amount, i.amount)]
            result = close or result
        return result

    def _resolve(
        self, line: StatementLine, pool: dict[str, list[ExpectedItem]]
    ) -> ExpectedItem | None:
        """The one item the line's strongest tokens point at; None if none or ambiguous."""
        for token_class in references.CLASSES:
            tokens = references.tokens_of(line.references, token_class)
            candidates = self._candidates(line, tokens, pool)
            if token_class == references.TEXT:
                # A word of free text is evidence only when the amount agrees too.
                candidates = [
                    c for c in candidates if self.tolerance.amount_ok(line.amount, c.amount)
                ]
            if not candidates:
                continue
            if len(candidates) == 1:
                return candidates[0]
            close = [c for c in candidates if self.tolerance.amount_ok(line.amount, c.amount)]
            free = [c for c in close if self._free(c)]
            if len(free) == 1:
                return free[0]
            if len(close) == 1:
                return close[0]
            self.reasons[line.pk] = (
                f"Reference {tokens[0]} matches {len(candidates)} items: match by hand"
            )
            return None
        return None

    def _match_or_duplicate(self, line: StatementLine, item: ExpectedItem, method: str) -> None:
        if self._free(item):
            self._commit(line, [item], method)
        else:
            self._duplicate(line, item, f"{item.object_id} was received before")

    def _duplicate(self, line: StatementLine, item: ExpectedItem, reason: str) -> None:
        self.book.add(
            Finding.about_line(
                Kind.DUPLICATE_RECEIPT, line, reason, item=item, expected_amount=item.amount
            )
        )

    def _commit(
        self,
        line: StatementLine,
        items: list[ExpectedItem],
        method: str,
        note: str = "",
        incomplete: bool = False,
    ) -> None:
        match = self.writer.add(
            method=method, channel=line.channel, lines=[line], items=items, note=note
        )
        self._line_matches[line.pk] = (match, items)
        self._claimed.update(item.key for item in items)
        expected_amount = sum(item.amount for item in items)
        if incomplete or not self.tolerance.amount_ok(line.amount, expected_amount):
            what = items[0].object_id if len(items) == 1 else f"{len(items)} items"
            reason = f"Received {line.amount}, expected {expected_amount} for {what}" + (
                f". {note}" if note else ""
            )
            self.book.add(
                Finding.about_line(
                    Kind.AMOUNT_DIFFERS,
                    line,
                    reason,
                    item=items[0] if len(items) == 1 else None,
                    expected_amount=expected_amount,
                    match=match,
                )
            )


def _is_dispute(line: StatementLine) -> bool:
    return any(token.startswith("dp_") for _, token in line.references) or (
        "dispute" in (line.additional_info or "").lower()
    )


def _looks_like_batch(line: StatementLine) -> bool:
    code = line.bank_transaction_code.upper()
    return bool(
        line.detail_count > 1
        or line.batch_reference
        or "RDDT" in code
        or code.startswith(("NDDT", "DDT"))
    )


def _same_party(a: str, b: str) -> bool:
    words_a, words_b = _words(a), _words(b)
    if not words_a or not words_b:
        return False
    shorter, longer = sorted((words_a, words_b), key=len)
    return shorter <= longer


def _words(name: str) -> set[str]:
    cleaned = "".join(ch if ch.isalnum() else " " for ch in (name or "").casefold())
    return {word for word in cleaned.split() if len(word) > 1}


def _slices(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
