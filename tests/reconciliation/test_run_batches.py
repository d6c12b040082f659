"""A reconciliation run commits batch by batch, and ends as one transaction would.

A run over a year used to be one transaction: locks and a snapshot held for minutes,
and a crash lost everything. Now each page of lines and chunk of items commits with
its matches, exceptions and report rows, the run is ``running`` until the totals are
in, and a run that a killed worker left behind is abandoned and done again without
matching anything twice. ``CHUNK = 1`` makes every line and item a batch of its own.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from hub.errors import Conflict
from reconciliation import services
from reconciliation.engine.matching import Matcher
from reconciliation.models import (
    MatchItem,
    MatchLine,
    ReconciliationException,
    ReconciliationRun,
    RunItem,
)
from reconciliation.services import runs
from tenants.scope import all_tenants
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import (
    card_payment,
    direct_debit,
    import_bytes,
    reconcile,
    set_tolerance,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROW_FIELDS = (
    "status",
    "channel",
    "currency",
    "date",
    "line_id",
    "reported_amount",
    "item_kind",
    "item_id",
    "expected_amount",
    "reference",
    "counterparty",
    "method",
    "reason",
)


class Rollback(Exception):
    pass


@pytest.fixture
def one_line_per_batch(monkeypatch, settings):
    monkeypatch.setattr(runs, "CHUNK", 1)
    # These tests watch the engine's batches one line at a time; on PostgreSQL the
    # set-based pass would match the reference lines before any batch (its own
    # commits are pinned in test_set_matching.py).
    settings.RECONCILIATION_SET_MATCHING = False


@pytest.fixture
def day(tenant, service, today):
    """Matches by reference and end-to-end id, a short amount, an unknown receipt and
    a missing payment: every kind of row a run writes."""
    set_tolerance(tenant, date_window_days=0)
    cards = [card_payment(tenant, service, amount) for amount in (2500, 4999, 999)]
    debit = direct_debit(tenant, service, 3000)
    short = direct_debit(tenant, service, 8000)
    card_payment(tenant, service, 1500)  # never arrives
    statement = camt053(
        [
            *(Entry(p.amount, remittance=f"Permit {p.pk.upper()}", name="A Payer") for p in cards),
            Entry(debit.amount, end_to_end_id=debit.provider_reference),
            Entry(7900, end_to_end_id=short.provider_reference),
            Entry(4242, remittance="Donation, no reference", name="Unknown Person"),
        ],
        booked=today,
        opening=100000,
    )
    import_bytes(tenant, statement)
    return today


def outcome(run: ReconciliationRun) -> dict:
    """What a run concluded, without the ids each run makes afresh."""
    with all_tenants():
        run.refresh_from_db()
        rows = RunItem.objects.filter(run=run).values_list(*ROW_FIELDS)
        return {
            "state": run.state,
            "totals": run.totals,
            "daily": run.daily,
            "counts": (
                run.matched_count,
                run.unmatched_expected_count,
                run.unmatched_reported_count,
                run.exception_count,
            ),
            "rows": sorted(rows, key=repr),
            "matched_lines": sorted(MatchLine.objects.values_list("line_id", "match__method")),
            "matched_items": sorted(MatchItem.objects.values_list("kind", "object_id")),
            "exceptions": sorted(
                ReconciliationException.objects.values_list("fingerprint", "state", "reason")
            ),
        }


def one_transaction_outcome(tenant, day) -> dict:
    """The run as it used to be (every batch a savepoint of one transaction), then
    rolled back, so the run under test starts from the same data."""
    with pytest.raises(Rollback), transaction.atomic():
        result = outcome(reconcile(tenant, day))
        raise Rollback
    with all_tenants():
        assert not MatchLine.objects.exists() and not ReconciliationRun.objects.exists()
    return result


def seen_from_another_connection() -> dict:
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


def test_a_run_commits_each_batch_and_ends_as_one_transaction_would(
    tenant, day, one_line_per_batch, monkeypatch
):
    expected = one_transaction_outcome(tenant, day)
    looks = []
    real = Matcher.match_by_reference

    def look_then_match(self, lines):
        looks.append(
            {
                **seen_from_another_connection(),
                # The batch is the outermost transaction: no run-wide one around it.
                "savepoints": len(connection.savepoint_ids),
                "in_transaction": connection.in_atomic_block,
            }
        )
        real(self, lines)

    monkeypatch.setattr(Matcher, "match_by_reference", look_then_match)

    run = reconcile(tenant, day)

    assert len(looks) == 6  # one batch per statement line
    assert all(look["states"] == ["running"] for look in looks)
    assert all(look["savepoints"] == 0 and look["in_transaction"] for look in looks)
    # Another connection saw the matches of earlier batches while the run went on.
    matched_seen = [look["matched_lines"] for look in looks]
    assert matched_seen == sorted(matched_seen) and matched_seen[0] == 0
    assert matched_seen[-1] >= 4
    assert outcome(run) == expected
    assert expected["state"] == "completed" and expected["counts"][3] == 3


def test_a_killed_run_is_abandoned_and_redone_without_matching_twice(
    tenant, day, one_line_per_batch, monkeypatch
):
    expected = one_transaction_outcome(tenant, day)
    real = runs._Reconciliation._settle_and_report_lines
    batches = []

    def die_on_the_third_batch(self, lines):
        batches.append(1)
        if len(batches) == 3:
            raise SystemExit("worker killed")
        real(self, lines)

    monkeypatch.setattr(runs._Reconciliation, "_settle_and_report_lines", die_on_the_third_batch)
    # A killed worker runs no clean-up: the run stays "running".
    monkeypatch.setattr(runs, "_abandon", lambda run_ids, reason: None)
    with pytest.raises(SystemExit):
        reconcile(tenant, day)
    monkeypatch.undo()
    monkeypatch.setattr(runs, "CHUNK", 1)

    with all_tenants():
        [killed] = ReconciliationRun.objects.all()
        assert killed.state == "running"
        kept = MatchLine.objects.count()
        assert kept >= 4  # what its committed batches matched is there
    # While its heartbeat is fresh it could still be going: a second run must wait.
    with pytest.raises(Conflict) as refused:
        reconcile(tenant, day)
    assert refused.value.code == "run_in_progress"

    # The daily job, once the heartbeat is old, abandons it and does the period again.
    with all_tenants():
        ReconciliationRun.objects.filter(pk=killed.pk).update(
            heartbeat_at=timezone.now() - runs.RUN_STALE_AFTER - timedelta(seconds=1)
        )
    [restarted] = services.restart_stale_runs(tenant=tenant)

    killed.refresh_from_db()
    assert killed.state == "abandoned" and killed.finished_at is not None
    assert restarted.requested_by == f"restart of {killed.pk}"
    assert outcome(restarted) == expected  # nothing matched twice, nothing missed


def test_an_error_marks_the_run_abandoned_at_once(tenant, day, monkeypatch):
    def fail(self):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runs._Reconciliation, "_finish", fail)
    with pytest.raises(RuntimeError):
        reconcile(tenant, day)
    monkeypatch.undo()
    with all_tenants():
        [failed] = ReconciliationRun.objects.all()
    assert failed.state == "abandoned"
    assert reconcile(tenant, day).state == "completed"  # nothing blocks the next run
