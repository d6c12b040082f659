"""The matching engine is pure rules: given statement lines and what a source says the
hub expects, it decides matches and findings without a single database query (the
database-backed source and sinks are reconciliation/services/; the rest of this suite
runs the engine through them)."""

from __future__ import annotations

from datetime import date

import pytest

from reconciliation.engine.findings import Finding
from reconciliation.engine.items import ExpectedItem, Found, PlannedMatch
from reconciliation.engine.matching import Matcher, Tolerance
from reconciliation.models import (
    Channel,
    ItemKind,
    Match,
    ReconciliationException,
    StatementLine,
)

# Only to count queries: the engine must make none.
pytestmark = pytest.mark.django_db
DAY = date(2024, 3, 1)


class InMemorySource:
    """What the hub expects, held in memory: items by reference token, and the
    unmatched bank credits an amount search finds."""

    def __init__(self, *, by_token=None, near=()) -> None:
        self.by_token = by_token or {}
        self.near = list(near)

    def find_by_tokens(self, tokens):
        found = Found()
        for token in tokens:
            found.credits[token].extend(self.by_token.get(token, ()))
        return found

    def line_details(self, line_ids):
        return {}

    def matched_keys(self, items):
        return set()

    def by_batch_reference(self, reference):
        return []

    def bank_credits_near(self, *, currency, amounts, tolerance, start, end):
        return [i for i in self.near if i.currency == currency and start <= i.date <= end]

    def direct_debits_between(self, *, currency, start, end):
        return []

    def earlier_match(self, line):
        return None

    def reversal_candidates(self, line, *, lookback):
        return []

    def recorded_dispute(self, provider_ids):
        return None

    def record_return(self, payment_id, *, reason_code, returned_on, source):
        raise AssertionError("these lines hold no return")


class Planned:
    def __init__(self) -> None:
        self.matches: list[PlannedMatch] = []

    def add(self, *, method, channel, lines, items, note=""):
        match = PlannedMatch(
            pk=f"mat_{len(self.matches)}",
            method=method,
            channel=channel,
            currency=lines[0].currency,
            lines=lines,
            items=items,
            note=note,
        )
        self.matches.append(match)
        return match

    def flush(self) -> None:
        pass


class Findings:
    def __init__(self) -> None:
        self.found: list[Finding] = []

    def add(self, finding: Finding) -> None:
        self.found.append(finding)

    def flush(self) -> dict:
        return {}


def bank_line(pk: str, amount: int, *, references=(), payer: str = "") -> StatementLine:
    return StatementLine(
        id=pk,
        channel=Channel.BANK,
        booking_date=DAY,
        amount=amount,
        currency="EUR",
        status="BOOK",
        references=[list(reference) for reference in references],
        counterparty_name=payer,
    )


def payment(pk: str, amount: int, *, payer: str = "") -> ExpectedItem:
    return ExpectedItem(
        kind=ItemKind.PAYMENT,
        object_id=pk,
        channel=Channel.BANK,
        currency="EUR",
        amount=amount,
        date=DAY,
        counterparty=payer,
        provider="bank_file",
    )


def matcher(source: InMemorySource) -> tuple[Matcher, Planned, Findings]:
    writer, book = Planned(), Findings()
    engine = Matcher(
        tolerance=Tolerance(days=3, amount=0),
        source=source,
        writer=writer,
        book=book,
        lookback_days=30,
    )
    return engine, writer, book


def test_a_reference_matches_its_item_and_a_short_amount_is_questioned(
    django_assert_num_queries,
):
    paid = payment("pay_one", 1000)
    engine, writer, book = matcher(InMemorySource(by_token={"pay_one": [paid]}))

    with django_assert_num_queries(0):
        engine.match_by_reference([bank_line("stl_1", 990, references=[("hub", "pay_one")])])

    [match] = writer.matches
    assert (match.method, match.items) == (Match.Method.REFERENCE, [paid])
    [finding] = book.found
    assert finding.kind == ReconciliationException.Kind.AMOUNT_DIFFERS
    assert finding.reason == "Received 990, expected 1000 for pay_one"


def test_two_equally_good_candidates_match_neither(django_assert_num_queries):
    source = InMemorySource(near=[payment("pay_a", 500), payment("pay_b", 500)])
    engine, writer, _ = matcher(source)

    with django_assert_num_queries(0):
        engine.match_by_amount([bank_line("stl_1", 500)])

    assert writer.matches == []
    assert engine.reasons["stl_1"].startswith("2 unmatched items of this amount")


def test_the_payers_name_breaks_a_tie(django_assert_num_queries):
    source = InMemorySource(
        near=[payment("pay_a", 500, payer="Ann Other"), payment("pay_b", 500, payer="Jane Doe")]
    )
    engine, writer, _ = matcher(source)

    with django_assert_num_queries(0):
        engine.match_by_amount([bank_line("stl_1", 500, payer="JANE DOE")])

    [match] = writer.matches
    assert match.method == Match.Method.AMOUNT_DATE
    assert [item.object_id for item in match.items] == ["pay_b"]
