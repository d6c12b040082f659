"""The strong-reference pass in PostgreSQL (services.set_matching) decides exactly what
the engine alone decides: the same matches, exceptions and report rows, on random days
of references written in every way banks write them.

PostgreSQL only: on SQLite a run uses the engine for every line (there is no database
pass to compare).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from payments import selectors as payment_selectors
from reconciliation.models import (
    Match,
    MatchItem,
    MatchLine,
    ReconciliationException,
    ReconciliationRun,
    RunItem,
)
from reconciliation.services import set_matching
from tenants.scope import all_tenants, tenant_scope
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import (
    card_payment,
    direct_debit,
    import_bytes,
    reconcile,
    set_tolerance,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class Rollback(Exception):
    pass


# How an entry names its payment: the forms banks and ERP exports turn references into.
STYLES = (
    "end_to_end",  # EndToEndId as collected (direct debits)
    "hub_id",  # pay_… as issued
    "hub_upper",  # "Payment PAY_…" upper-cased
    "hub_dash",  # "PAY-<BODY>": no "_" allowed
    "hub_space",  # "pay <body> parking"
    "creditor_reference",  # the agency's reference as a structured creditor reference
    "agency_text",  # the agency's reference as a word of free text (the weakest class)
)


@dataclass(frozen=True)
class Planned:
    payment: int  # index into the day's payments, or -1: names nothing in the hub
    style: str
    amount_off: int  # the bank credits the net amount plus this


day_plans = st.fixed_dictionaries(
    {
        "debits": st.lists(st.integers(100, 5000), min_size=1, max_size=4),
        "cards": st.lists(st.integers(100, 5000), min_size=0, max_size=3),
        # Two payments sharing the agency's reference: a reference that names several.
        "shared_reference": st.booleans(),
        "tolerance": st.sampled_from([0, 1]),
        "entries": st.lists(
            st.builds(
                Planned,
                payment=st.integers(-1, 6),
                style=st.sampled_from(STYLES),
                amount_off=st.sampled_from([0, 0, 1, -1, 7]),
            ),
            min_size=1,
            max_size=8,
        ),
    }
)


def test_the_database_pass_and_the_engine_decide_alike(tenant, service, today, monkeypatch):
    used = []
    real = set_matching.match_strong_references

    def counting(**kwargs):
        written = real(**kwargs)
        used.append(written)
        return written

    monkeypatch.setattr(set_matching, "match_strong_references", counting)
    reported = []
    real_report = set_matching.report_matched_lines

    def counting_report(**kwargs):
        days = real_report(**kwargs)
        reported.append(RunItem.objects.filter(run=kwargs["run"]).count())
        return days

    monkeypatch.setattr(set_matching, "report_matched_lines", counting_report)

    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        # Each example makes payments and two runs: shrinking a failure took minutes.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(plan=day_plans)
    def same_outcome(plan):
        with pytest.raises(Rollback), transaction.atomic():
            _make_day(tenant, service, today, plan)
            with_database = _outcome_of_run(tenant, today, set_based=True)
            engine_only = _outcome_of_run(tenant, today, set_based=False)
            assert with_database == engine_only
            raise Rollback

    same_outcome()
    # The comparison was not vacuous: the database pass did match lines, and the
    # database wrote report rows that the Python report wrote in the other run.
    assert sum(used) > 0
    assert sum(reported) > 0


def _make_day(tenant, service, today, plan) -> None:
    set_tolerance(tenant, amount_tolerance=plan["tolerance"], date_window_days=0)
    payments = [
        direct_debit(tenant, service, amount, f"E2E-{index}-{amount}")
        for index, amount in enumerate(plan["debits"])
    ]
    shared = "RF18539007547034" if plan["shared_reference"] else ""
    for index, amount in enumerate(plan["cards"]):
        reference = shared if shared and index < 2 else f"AG{index}X{amount}Z"
        payments.append(card_payment(tenant, service, amount, reference=reference))
    entries = []
    for planned in plan["entries"]:
        if planned.payment < 0 or planned.payment >= len(payments):
            entries.append(Entry(1000 + planned.amount_off, end_to_end_id="E2E-NOT-OURS"))
            continue
        payment = payments[planned.payment]
        amount = payment.amount - payment.fee + planned.amount_off
        if amount <= 0:
            continue
        entries.append(_entry(payment, planned.style, amount))
    import_bytes(tenant, camt053(entries, booked=today))


def _entry(payment, style: str, amount: int) -> Entry:
    body = payment.pk.split("_", 1)[1]
    if style == "end_to_end" and payment.method == "direct_debit":
        return Entry(amount, end_to_end_id=payment.provider_reference)
    if style == "hub_upper":
        return Entry(amount, remittance=f"Payment {payment.pk.upper()} thank you")
    if style == "hub_dash":
        return Entry(amount, remittance=f"PAY-{body.upper()}")
    if style == "hub_space":
        return Entry(amount, remittance=f"pay {body} parking")
    if style == "creditor_reference":
        return Entry(amount, creditor_reference=payment.reference)
    if style == "agency_text":
        return Entry(amount, remittance=f"Invoice {payment.reference} paid")
    return Entry(amount, remittance=payment.pk)


def _outcome_of_run(tenant, today, *, set_based: bool) -> dict:
    """Everything a run leaves behind, then rolled back so the other run starts from
    the same day."""
    outcome: dict = {}
    try:
        with transaction.atomic(), override_settings(RECONCILIATION_SET_MATCHING=set_based):
            run = reconcile(tenant, today)
            outcome.update(_left_behind(tenant, run))
            raise Rollback
    except Rollback:
        pass
    return outcome


def _left_behind(tenant, run) -> dict:
    with tenant_scope(tenant):
        return {
            "counts": (
                run.matched_count,
                run.unmatched_expected_count,
                run.unmatched_reported_count,
                run.exception_count,
            ),
            "totals": run.totals,
            "matches": sorted(
                (
                    link.line_id,
                    link.match.method,
                    link.match.reported_amount,
                    link.match.expected_amount,
                    link.match.note,
                    tuple(sorted(link.match.items.values_list("kind", "object_id", "amount"))),
                )
                for link in MatchLine.objects.select_related("match")
            ),
            "exceptions": sorted(
                ReconciliationException.objects.values_list(
                    "fingerprint", "kind", "state", "reason", "line_id", "item_id"
                ),
                key=repr,
            ),
            # Every column of every report row but the ids a run generates: with the
            # database pass on, most rows are written by one INSERT … SELECT
            # (set_matching.report_matched_lines), with it off by the Python report.
            "rows": sorted(
                RunItem.objects.filter(run=run).values_list(
                    "status",
                    "channel",
                    "currency",
                    "date",
                    "line_id",
                    "reported_amount",
                    "item_kind",
                    "item_id",
                    "expected_amount",
                    "reason",
                    "reference",
                    "counterparty",
                    "method",
                    "match__reported_amount",
                    "exception__fingerprint",
                ),
                key=repr,
            ),
            "ledger": _ledger(tenant),
        }


def _ledger(tenant) -> dict:
    currencies = payment_selectors.ledger_currencies(tenant=tenant)
    return {
        currency: payment_selectors.ledger_balances(tenant=tenant, currency=currency)
        for currency in currencies
    }


@pytest.mark.django_db(transaction=True)
def test_the_database_pass_commits_chunk_by_chunk(tenant, service, today, monkeypatch):
    """Like the engine's batches: each chunk of database matches is committed with the
    run's heartbeat, visible to another connection while the run goes on."""
    debits = [direct_debit(tenant, service, 1000 + i, f"E2E-CHUNK-{i}") for i in range(3)]
    entries = [Entry(d.amount, end_to_end_id=d.provider_reference) for d in debits]
    import_bytes(tenant, camt053(entries, booked=today))
    monkeypatch.setattr(set_matching, "CHUNK", 1)
    looks = []
    real = set_matching._write

    def look_then_write(**kwargs):
        looks.append(
            {**_seen_from_another_connection(), "savepoints": len(connection.savepoint_ids)}
        )
        real(**kwargs)

    monkeypatch.setattr(set_matching, "_write", look_then_write)

    run = reconcile(tenant, today)

    assert [look["matched_lines"] for look in looks] == [0, 1, 2]
    assert all(look["states"] == ["running"] and look["savepoints"] == 0 for look in looks)
    assert run.matched_count == 3 and run.exception_count == 0
    with tenant_scope(tenant):
        assert set(Match.objects.values_list("method", flat=True)) == {"reference"}
        assert sorted(MatchItem.objects.values_list("object_id", flat=True)) == sorted(
            d.pk for d in debits
        )


def _seen_from_another_connection() -> dict:
    seen: dict = {}

    def look():
        try:
            with all_tenants():
                seen["matched_lines"] = MatchLine.objects.count()
                seen["states"] = list(ReconciliationRun.objects.values_list("state", flat=True))
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(timeout=20)
    return seen
