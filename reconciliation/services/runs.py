"""A reconciliation run: match what is unmatched, then report the period.

A run looks at statement lines booked from ``lookback_days`` before the period up to its end
(a receipt may pay a payment of the previous period) and:

1. matches them by reference: on PostgreSQL first in one query for the lines whose match
   is certain whatever the order (services.set_matching, selectors.strong_references),
   then the rest with engine.matching.Matcher.match_by_reference;
2. matches the rest by amount, date and payer, and records every line booked in the
   period as a report row: matched, unmatched with the reason, or an exception (on
   PostgreSQL the rows of plainly settled matched lines are written first by one
   ``INSERT … SELECT``, services.set_matching.report_matched_lines; the pages of lines
   report the rest);
3. records every item dated in the period that no line of the period accounts for:
   matched earlier or by hand, awaited (its date window is still open, or no statement
   covers it yet), or missing; and raises items from before the period that are now
   overdue;
4. clears open exceptions a later match settled, and stores the totals.

Matches persist across runs, so a second run of the same period finds everything
matched already and reports the same; a resolved exception's rows are matched by its
resolution and are never raised again.

**Transactions.** A run over a year must not be one transaction of a year's lines
(locks and an open snapshot for minutes, a pinned connection, a crash losing it all).
It is committed batch by batch instead: the claim (the run row, ``running``), then each
page of lines and each chunk of items with the matches, exceptions and report rows it
produced, then the totals with ``completed``. One run at a time per agency is kept by
the claim, not by a lock held for the whole run: the claim locks the settings row only
long enough to see that no other run of the agency is ``running``.

**A run that stops half-way** is abandoned, never resumed: an error marks it
``abandoned`` at once; a killed worker leaves it ``running`` with a heartbeat that
stops, and once that is ``RUN_STALE_AFTER`` old the next claim (a new run of the agency,
or the daily job's ``restart_stale_runs``, which also starts the period again) marks it
``abandoned``. Restarting rather than resuming is safe because a run is already
repeatable: its committed matches stay (a line and an item are matched at most once,
by unique constraints, and every pass looks only at what is unmatched), and a new run
of the period reports them as matched exactly as the crashed run would have. Resuming
would have to rebuild the crashed run's in-memory state (the totals, which exceptions
it raised itself) from what it had committed, for no gain.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from hub import bulk
from hub.errors import Conflict, InvalidRequest
from hub.events.outbox import publish
from reconciliation.engine import reasons
from reconciliation.engine.findings import Finding
from reconciliation.engine.items import ExpectedItem, channel_of
from reconciliation.engine.matching import Matcher, Tolerance
from reconciliation.engine.totals import Totals
from reconciliation.events import RECONCILIATION_COMPLETED
from reconciliation.models import (
    Channel,
    Match,
    MatchItem,
    MatchLine,
    ReconciliationException,
    ReconciliationRun,
    ReconciliationSettings,
    RunItem,
    StatementLine,
)
from reconciliation.selectors import lookups, period_items
from reconciliation.selectors.matches import item_match_facts, matched_line_ids
from reconciliation.selectors.statements import reported_up_to, statement_balances
from reconciliation.services import set_matching
from reconciliation.services.agency_settings import ensure_settings
from reconciliation.services.exception_book import ExceptionBook
from reconciliation.services.match_writer import MatchWriter
from reconciliation.services.matching_source import DatabaseSource
from tenants.models import Tenant
from tenants.scope import tenant_scope

logger = logging.getLogger(__name__)

CHUNK = 1000
MAX_PERIOD_DAYS = 366
# A batch commits in seconds; a running run silent this long lost its worker.
RUN_STALE_AFTER = timedelta(minutes=15)
RunState = ReconciliationRun.State
Kind = ReconciliationException.Kind
Status = RunItem.Status
LINE_KINDS = (
    Kind.UNKNOWN_RECEIPT,
    Kind.UNEXPECTED_RECEIPT,
    Kind.UNKNOWN_RETURN,
    Kind.DUPLICATE_RECEIPT,
    Kind.REVERSED_RECEIPT,
    Kind.DISPUTE,
)


def start_run(
    *,
    tenant: Tenant,
    period_start: date,
    period_end: date,
    trigger: str,
    requested_by: str = "",
) -> ReconciliationRun:
    """Reconcile ``tenant`` for [period_start, period_end] (dates, inclusive)."""
    if period_end < period_start:
        raise InvalidRequest(
            "period_end is before period_start", code="invalid_period", field="period_end"
        )
    if (period_end - period_start).days >= MAX_PERIOD_DAYS:
        raise InvalidRequest(
            f"A run covers at most {MAX_PERIOD_DAYS} days",
            code="period_too_long",
            field="period_end",
        )
    if period_start > timezone.localdate():
        raise InvalidRequest(
            "period_start is in the future", code="invalid_period", field="period_start"
        )
    run, settings = _claim(
        tenant=tenant,
        period_start=period_start,
        period_end=period_end,
        trigger=trigger,
        requested_by=requested_by,
    )
    with tenant_scope(tenant):
        try:
            _Reconciliation(tenant=tenant, run=run, settings=settings).execute()
        except BaseException:
            # Its committed batches stay (see the module docstring); the run must not
            # look as if it were still going, or it would block the agency's next run.
            try:
                _abandon([run.pk], reason="stopped by an error")
            except Exception:  # the database went away: the heartbeat will tell
                logger.exception("could not mark run %s abandoned", run.pk)
            raise
    return run


def restart_stale_runs(*, tenant: Tenant, now=None) -> list[ReconciliationRun]:
    """The daily job's safety net: abandon the agency's runs that a killed worker left
    ``running`` and reconcile their periods again, each as a new run."""
    now = now or timezone.now()
    with tenant_scope(tenant), transaction.atomic():
        stale = list(_stale_runs(now).select_for_update(of=("self",)))
        _abandon([run.pk for run in stale], reason="its worker stopped")
    restarted = []
    for old in stale:
        restarted.append(
            start_run(
                tenant=tenant,
                period_start=old.period_start,
                period_end=old.period_end,
                trigger=old.trigger,
                requested_by=f"restart of {old.pk}",
            )
        )
    return restarted


def _claim(
    *, tenant: Tenant, period_start: date, period_end: date, trigger: str, requested_by: str
) -> tuple[ReconciliationRun, ReconciliationSettings]:
    """Create the run as ``running`` and commit: the first of the run's transactions."""
    now = timezone.now()
    with tenant_scope(tenant), transaction.atomic():
        ensure_settings(tenant)
        # One run at a time per agency: two would match the same lines at once (the
        # unique constraints would make the slower fail). The lock is held for this
        # check only; the "running" row is what keeps the second run out.
        settings = ReconciliationSettings.objects.select_for_update().get(tenant=tenant)
        _abandon(list(_stale_runs(now).values_list("pk", flat=True)), reason="its worker stopped")
        if ReconciliationRun.objects.filter(state=RunState.RUNNING).exists():
            raise Conflict(
                "Another reconciliation run of this agency is still running; "
                "start this one when it has finished",
                code="run_in_progress",
            )
        run = ReconciliationRun.objects.create(
            tenant=tenant,
            period_start=period_start,
            period_end=period_end,
            trigger=trigger,
            requested_by=requested_by[:200],
            date_window_days=settings.date_window_days,
            amount_tolerance=settings.amount_tolerance,
            started_at=now,
            heartbeat_at=now,
        )
    return run, settings


def _stale_runs(now):
    return ReconciliationRun.objects.filter(
        state=RunState.RUNNING, heartbeat_at__lt=now - RUN_STALE_AFTER
    )


def _abandon(run_ids: list[str], *, reason: str) -> None:
    if not run_ids:
        return
    with transaction.atomic():
        ReconciliationRun.objects.filter(pk__in=run_ids, state=RunState.RUNNING).update(
            state=RunState.ABANDONED, finished_at=timezone.now()
        )
    logger.warning("reconciliation run(s) %s abandoned: %s", ", ".join(run_ids), reason)


class _Reconciliation:
    def __init__(
        self, *, tenant: Tenant, run: ReconciliationRun, settings: ReconciliationSettings
    ) -> None:
        self.tenant = tenant
        self.run = run
        self.start, self.end = run.period_start, run.period_end
        self.lookback_start = self.start - timedelta(days=settings.lookback_days)
        self.window = timedelta(days=settings.date_window_days)
        self.tolerance = Tolerance(settings.date_window_days, settings.amount_tolerance)
        self.book = ExceptionBook(tenant=tenant, run=run)
        self.matcher = Matcher(
            tolerance=self.tolerance,
            source=DatabaseSource(),
            writer=MatchWriter(tenant=tenant, run=run),
            book=self.book,
            lookback_days=settings.lookback_days,
        )
        self.totals = Totals()
        self.as_of: dict[tuple[str, str], date] = {}
        self.rows: list[dict] = []
        self.now = timezone.now()

    def execute(self) -> None:
        """Every batch below is its own transaction (``_batch``); reads between them
        (the keyset pages, the item cursors) run outside any."""
        before = self.start - timedelta(days=1)
        if set_matching.enabled():
            # The bulk of a statement, decided in one query; the engine gets the rest.
            self.matcher.writer.count += set_matching.match_strong_references(
                tenant=self.tenant,
                run=self.run,
                start=self.lookback_start,
                end=self.end,
                tolerance=self.tolerance.amount,
                batch=self._batch,
            )
        for lines in self._line_batches(self.lookback_start, self.end, unmatched_only=True):
            with self._batch():
                self.matcher.match_by_reference(lines)
        bulk.refresh_statistics(Match, MatchLine, MatchItem, rows_written=self.matcher.writer.count)
        if before >= self.lookback_start:
            # Earlier lines nothing explained yet: an item recorded since may pay them.
            for lines in self._line_batches(self.lookback_start, before, unmatched_only=True):
                with self._batch():
                    self.matcher.match_by_amount(self._open_credits(lines))
        unreported_only = False
        if set_matching.enabled():
            # The matched lines the database can report alone (the bulk of a statement),
            # in one statement; the pages below report the rest.
            with self._batch():
                for day in set_matching.report_matched_lines(
                    tenant=self.tenant, run=self.run, start=self.start, end=self.end, now=self.now
                ):
                    if day.has_received:
                        self.totals.add_received_on(day.currency, day.day, day.received)
                    if day.has_provider_fees:
                        self.totals.add_provider_fees(day.currency, day.provider_fees)
            unreported_only = True
        for lines in self._line_batches(
            self.start, self.end, unmatched_only=False, unreported_only=unreported_only
        ):
            with self._batch():
                self._settle_and_report_lines(lines)
        self.as_of = reported_up_to(self.end)
        paid_apart = set_matching.enabled()
        if paid_apart:
            # The period's payments its lines paid are reported with those lines: all
            # they add is their money to the totals, summed by the database.
            for paid in period_items.paid_in_period_sums(self.start, self.end):
                self.totals.add_payments_summed(
                    channel=channel_of(paid.provider),
                    currency=paid.currency,
                    day=paid.day,
                    gross=paid.gross,
                    fee=paid.fee,
                )
        for items in period_items.items_dated(
            self.start, self.end, chunk_size=CHUNK, without_paid_in_period=paid_apart
        ):
            with self._batch():
                self._report_items(items, in_period=True)
        overdue_until = max(self.as_of.values(), default=None)
        if overdue_until is not None:
            last = min(before, overdue_until - self.window)
            if last >= self.lookback_start:
                for items in period_items.items_dated(
                    self.lookback_start, last, chunk_size=CHUNK, only_unmatched=True
                ):
                    with self._batch():
                        self._report_items(items, in_period=False)
        with transaction.atomic():
            self._clear_settled_exceptions()
            self._finish()

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """One batch's writes and the run's heartbeat, committed together."""
        with transaction.atomic():
            yield
            ReconciliationRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())

    # --- lines ----------------------------------------------------------------------

    def _line_batches(
        self, start: date, end: date, *, unmatched_only: bool, unreported_only: bool = False
    ) -> Iterator[list[StatementLine]]:
        """Lines booked from ``start`` to ``end``, a day at a time, in keyset pages of
        one day: each page is an index range scan, however many lines there are.
        ``unreported_only``: only lines without a report row of this run yet."""
        booked = StatementLine.objects.filter(booking_date__gte=start, booking_date__lte=end)
        days = sorted(booked.values_list("booking_date", flat=True).distinct().order_by())
        for day in days:
            last = None
            while True:
                page = StatementLine.objects.filter(booking_date=day)
                if last is not None:
                    page = page.filter(pk__gt=last)
                if unmatched_only:
                    page = page.exclude(Exists(_line_matched(after=last)))
                if unreported_only:
                    page = page.exclude(Exists(self._line_reported()))
                batch = list(page.order_by("pk")[:CHUNK])
                if not batch:
                    break
                last = batch[-1].pk
                yield batch

    def _line_reported(self):
        """Whether the outer line has a report row of this run (unscoped for the same
        reason as ``_line_matched``: the outer query is the tenant's)."""
        return RunItem._base_manager.filter(run_id=self.run.pk, line_id=OuterRef("pk"))

    def _open_credits(self, lines: list[StatementLine]) -> list[StatementLine]:
        """The unmatched booked bank credits no exception of this run holds already
        (pass 1 found those to be duplicates, unknown returns and the like)."""
        ids = [line.pk for line in lines]
        matched = matched_line_ids(ids)
        raised_now = set(
            ReconciliationException.objects.filter(line_id__any=ids, last_run=self.run).values_list(
                "line_id", flat=True
            )
        )
        return [
            line
            for line in lines
            if line.pk not in matched and line.pk not in raised_now and _open_credit(line)
        ]

    def _settle_and_report_lines(self, lines: list[StatementLine]) -> None:
        ids = [line.pk for line in lines]
        self.matcher.match_by_amount(self._open_credits(lines))
        matched = matched_line_ids(ids)
        raised_now = {
            exception.line_id: exception
            for exception in ReconciliationException.objects.filter(
                line_id__any=ids, last_run=self.run
            )
        }
        self._report_matched_lines([line for line in lines if line.pk in matched])
        unmatched = [line for line in lines if line.pk not in matched]
        found = lookups.find_by_tokens(token for line in unmatched for _, token in line.references)
        explained: list[tuple[StatementLine, str, str | None]] = []
        for line in unmatched:
            if line.pk in raised_now:
                self._line_row(
                    line, Status.EXCEPTION, raised_now[line.pk].reason, raised_now[line.pk]
                )
                continue
            kind, reason = reasons.for_line(
                line,
                found=found,
                ambiguity=self.matcher.reasons.get(line.pk),
                window_days=self.tolerance.days,
                period_end=self.end,
            )
            if kind is not None:
                self.book.add(Finding.about_line(kind, line, reason))
            explained.append((line, reason, kind))
        exceptions = self.book.flush()
        for line, reason, kind in explained:
            if kind is None:
                self._line_row(line, Status.UNMATCHED_REPORTED, reason)
            else:
                exception = exceptions[f"{kind}:line:{line.pk}"]
                self._line_row(line, Status.EXCEPTION, reason, exception)
        questioned = set(raised_now) | {line.pk for line, _, kind in explained if kind}
        for line in lines:
            self._count_line(line, hub_related=line.pk in matched or line.pk in questioned)
        self._flush_rows()

    def _count_line(self, line: StatementLine, *, hub_related: bool) -> None:
        """Received: every booked credit, and the debits the hub explains or questions
        (not the agency's other outgoing payments and bank charges)."""
        if line.channel == Channel.STRIPE:
            self.totals.add_provider_fee(line)
        elif line.is_booked and (line.amount > 0 or hub_related):
            self.totals.add_received(line)

    def _report_matched_lines(self, lines: list[StatementLine]) -> None:
        if not lines:
            return
        links = dict(
            MatchLine.objects.filter(line_id__any=[line.pk for line in lines]).values_list(
                "line_id", "match_id"
            )
        )
        matches = {
            pk: (method, note)
            for pk, method, note in Match.objects.filter(pk__any=set(links.values())).values_list(
                "pk", "method", "note"
            )
        }
        items: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for match_id, kind, object_id, amount in (
            MatchItem.objects.filter(match_id__any=list(matches))
            .order_by("id")
            .values_list("match_id", "kind", "object_id", "amount")
        ):
            items[match_id].append((kind, object_id, amount))
        questioned = {
            exception.match_id: exception
            for exception in ReconciliationException.objects.filter(
                match_id__any=list(matches), kind=Kind.AMOUNT_DIFFERS
            )
        }
        described = period_items.describe(
            (kind, object_id) for rows in items.values() for kind, object_id, _ in rows
        )
        for line in lines:
            match_id = links[line.pk]
            method, note = matches[match_id]
            exception = questioned.get(match_id)
            if exception is not None and exception.state == ReconciliationException.State.OPEN:
                status = Status.EXCEPTION
            elif method == Match.Method.MANUAL or exception is not None:
                status = Status.RESOLVED
            else:
                status = Status.MATCHED
            for index, (kind, object_id, amount) in enumerate(
                items.get(match_id) or [("", "", None)]
            ):
                reference, payer = described.get((kind, object_id), ("", ""))
                self._row(
                    status=status,
                    channel=line.channel,
                    currency=line.currency,
                    date=line.booking_date,
                    line_id=line.pk,
                    reported_amount=line.amount if index == 0 else None,
                    item_kind=kind,
                    item_id=object_id,
                    expected_amount=amount,
                    reference=reference or _line_reference(line),
                    counterparty=payer or line.counterparty_name,
                    method=method,
                    reason=exception.reason if exception is not None else note,
                    match_id=match_id,
                    exception_id=exception.pk if exception is not None else None,
                )

    def _line_row(
        self,
        line: StatementLine,
        status: str,
        reason: str,
        exception: ReconciliationException | None = None,
    ) -> None:
        self._row(
            status=status,
            channel=line.channel,
            currency=line.currency,
            date=line.booking_date,
            line_id=line.pk,
            reported_amount=line.amount,
            item_kind=exception.item_kind if exception else "",
            item_id=exception.item_id if exception else "",
            expected_amount=exception.expected_amount if exception else None,
            reference=_line_reference(line),
            counterparty=line.counterparty_name,
            reason=reason,
            exception_id=exception.pk if exception else None,
        )

    def _row(self, **values) -> None:
        """A report row, as a plain row for bulk.insert."""
        values["reference"] = values.get("reference", "")[:255]
        values["counterparty"] = values.get("counterparty", "")[:255]
        self.rows.append(
            {
                "tenant_id": self.tenant.pk,
                "run_id": self.run.pk,
                "line_id": None,
                "reported_amount": None,
                "item_kind": "",
                "item_id": "",
                "expected_amount": None,
                "method": "",
                "match_id": None,
                "exception_id": None,
                "created_at": self.now,
                **values,
            }
        )

    # --- expected items ---------------------------------------------------------------

    def _report_items(self, items: list[ExpectedItem], *, in_period: bool) -> None:
        if in_period:
            for item in items:
                self.totals.add_item(item)
        match_of = item_match_facts([item.key for item in items])
        pending: list[tuple[ExpectedItem, str, str]] = []
        for item in items:
            matched = match_of.get(item.key)
            if matched is not None:
                booked = matched.lines
                if any(self.start <= day <= self.end for _, day in booked):
                    continue  # reported with the line that pays it
                manual = matched.method == Match.Method.MANUAL
                reason = (
                    f"Received on {booked[0][1].isoformat()} in {booked[0][0]}"
                    if booked
                    else "Settled by a finance user's resolution"
                )
                self._item_row(item, Status.RESOLVED if manual else Status.MATCHED, reason)
                continue
            due = item.date + self.window
            reported_to = self.as_of.get((item.channel, item.currency))
            if reported_to is not None and due <= reported_to:
                where = "Stripe payouts" if item.channel == Channel.STRIPE else "bank statements"
                reason = (
                    f"Not in the {where} up to {reported_to.isoformat()} "
                    f"(expected by {due.isoformat()})"
                )
                self.book.add(
                    Finding(
                        kind=Kind.MISSING_RECEIPT,
                        channel=item.channel,
                        currency=item.currency,
                        occurred_on=item.date,
                        reason=reason,
                        item=item,
                        expected_amount=item.amount,
                    )
                )
                pending.append((item, Status.EXCEPTION, reason))
            elif in_period:
                reason = (
                    f"Awaited until {due.isoformat()}"
                    if reported_to is not None
                    else f"No {item.channel} statement imported yet that could show it"
                )
                pending.append((item, Status.UNMATCHED_EXPECTED, reason))
        exceptions = self.book.flush()
        for item, status, reason in pending:
            exception = (
                exceptions.get(f"{Kind.MISSING_RECEIPT}:{item.kind}:{item.object_id}")
                if status == Status.EXCEPTION
                else None
            )
            self._item_row(item, status, reason, exception)
        self._flush_rows()

    def _item_row(
        self,
        item: ExpectedItem,
        status: str,
        reason: str,
        exception: ReconciliationException | None = None,
    ) -> None:
        self._row(
            status=status,
            channel=item.channel,
            currency=item.currency,
            date=item.date,
            item_kind=item.kind,
            item_id=item.object_id,
            expected_amount=item.amount,
            reference=item.reference,
            counterparty=item.counterparty,
            reason=reason,
            exception_id=exception.pk if exception else None,
        )

    # --- the end ---------------------------------------------------------------------

    def _flush_rows(self) -> None:
        bulk.insert(RunItem, self.rows)
        self.rows = []

    def _clear_settled_exceptions(self) -> None:
        open_ = ReconciliationException.objects.filter(state=ReconciliationException.State.OPEN)
        cleared = ReconciliationException.State.CLEARED
        note = f"Cleared by run {self.run.pk}"
        open_.filter(kind__in=LINE_KINDS).filter(Exists(_line_matched("line_id"))).update(
            state=cleared, resolution_note=f"{note}: the line was matched"
        )
        open_.filter(kind=Kind.MISSING_RECEIPT).filter(
            Exists(
                MatchItem.objects.filter(kind=OuterRef("item_kind"), object_id=OuterRef("item_id"))
            )
        ).update(state=cleared, resolution_note=f"{note}: the item was received")
        # A line of the period that this run no longer finds a problem with.
        open_.filter(kind__in=LINE_KINDS, line__booking_date__range=(self.start, self.end)).exclude(
            last_run=self.run
        ).update(state=cleared, resolution_note=f"{note}: no longer a problem")

    def _finish(self) -> None:
        totals, daily = self.totals.result(
            start=self.start, end=self.end, balances=statement_balances(self.start, self.end)
        )
        counts = defaultdict(lambda: defaultdict(int))
        rows = RunItem.objects.filter(run=self.run)
        for row in rows.values("currency", "status").annotate(n=Count("id")).order_by():
            counts[row["currency"]][row["status"]] = row["n"]
        exception_counts = dict(
            rows.filter(exception__isnull=False, status=Status.EXCEPTION)
            .values("currency")
            .annotate(n=Count("exception", distinct=True))
            .order_by()
            .values_list("currency", "n")
        )
        for currency in set(totals) | set(counts):
            figures = totals.setdefault(currency, {})
            by_status = counts[currency]
            figures["matched"] = by_status[Status.MATCHED] + by_status[Status.RESOLVED]
            figures["unmatched_expected"] = by_status[Status.UNMATCHED_EXPECTED]
            figures["unmatched_reported"] = by_status[Status.UNMATCHED_REPORTED]
            figures["exceptions"] = exception_counts.get(currency, 0)
        run = self.run
        run.totals = totals
        run.daily = daily
        run.matched_count = sum(t["matched"] for t in totals.values())
        run.unmatched_expected_count = sum(t["unmatched_expected"] for t in totals.values())
        run.unmatched_reported_count = sum(t["unmatched_reported"] for t in totals.values())
        run.exception_count = sum(t["exceptions"] for t in totals.values())
        run.state = ReconciliationRun.State.COMPLETED
        run.finished_at = run.heartbeat_at = timezone.now()
        run.save()
        publish(
            tenant=self.tenant,
            type=RECONCILIATION_COMPLETED,
            subject_id=run.pk,
            payload=run_payload(run, new_exceptions=self.book.new_count),
        )


def run_payload(run: ReconciliationRun, *, new_exceptions: int = 0) -> dict:
    return {
        "id": run.pk,
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "state": run.state,
        "matched": run.matched_count,
        "unmatched_expected": run.unmatched_expected_count,
        "unmatched_reported": run.unmatched_reported_count,
        "exceptions": run.exception_count,
        "new_exceptions": new_exceptions,
        "totals": [{"currency": c, **figures} for c, figures in sorted(run.totals.items())],
    }


def _line_matched(outer: str = "pk", after: str | None = None):
    """Whether the outer row's statement line is matched, as a correlated subquery.

    Unscoped on purpose: the outer query is the tenant's and ``line_id`` is unique, so
    the unique index answers it alone. (With the tenant filter the scoped manager adds,
    PostgreSQL joined the tenant's whole match table to every line while its statistics
    still said the tenant had none: every first run of a large statement.) ``after``
    repeats the page's keyset bound, which the outer row satisfies anyway, so that a
    merge anti-join starts reading the index at the page instead of at its beginning.
    """
    matched = MatchLine._base_manager.filter(line_id=OuterRef(outer))
    return matched.filter(line_id__gt=after) if after is not None else matched


def _open_credit(line: StatementLine) -> bool:
    return (
        line.channel == Channel.BANK
        and line.is_booked
        and line.amount > 0
        and not line.is_reversal
        and not line.return_reason_code
    )


def _line_reference(line: StatementLine) -> str:
    tokens = [token for _, token in line.references]
    return tokens[0] if tokens else line.entry_reference
