"""The dashboard's figures, read from every app's rows for a set of agencies and a period.

Reads only. The caller decides which agencies (``tenants.selectors.tenants_for_user``:
an agency's staff get their own agencies, never another's) and opens the scope; every
query here filters on those agencies itself, so a figure never mixes in another's rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from collection.models import CollectionAttempt, CollectionRun
from hub.events.models import Event, WebhookDelivery, WebhookEndpoint
from payments.models import Dispute, Payment, PaymentState, Refund
from reconciliation.models import ReconciliationException

PERIODS = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_PERIOD = "7d"
# A payment in one of these states has finished; the success rate is over these only.
FINISHED_STATES = (
    PaymentState.SUCCESS,
    PaymentState.FAILED,
    PaymentState.CANCELLED,
    PaymentState.EXPIRED,
    PaymentState.ERROR,
)
EXCEPTION_AGES = (("under 1 day", 0, 1), ("1 to 7 days", 1, 7), ("over 7 days", 7, None))


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: dt.datetime  # aware, in the operator's zone
    end: dt.datetime
    by_hour: bool  # today is charted per hour, longer periods per day

    @classmethod
    def named(cls, key: str | None, *, now: dt.datetime | None = None) -> Period:
        key = key if key in PERIODS else DEFAULT_PERIOD
        now = timezone.localtime(now or timezone.now())
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        days = {"today": 0, "7d": 6, "30d": 29}[key]
        start = midnight - dt.timedelta(days=days)
        return cls(key, PERIODS[key], start, now, by_hour=key == "today")

    def buckets(self) -> list[dt.datetime | dt.date]:
        if self.by_hour:
            return [self.start + dt.timedelta(hours=h) for h in range(self.end.hour + 1)]
        return [
            (self.start + dt.timedelta(days=d)).date()
            for d in range((self.end.date() - self.start.date()).days + 1)
        ]


@dataclass
class MoneyByCurrency:
    """Amounts in minor units per currency: a sum over currencies means nothing."""

    count: int = 0
    amounts: dict[str, int] = field(default_factory=dict)


def _by_state(rows, state_field: str) -> dict[str, MoneyByCurrency]:
    result: dict[str, MoneyByCurrency] = defaultdict(MoneyByCurrency)
    for row in rows:
        figure = result[row[state_field]]
        figure.count += row["count"]
        if row["amount"]:
            figure.amounts[row["currency"]] = figure.amounts.get(row["currency"], 0) + row["amount"]
    return dict(result)


def payments_by_state(tenants, period: Period) -> dict[str, MoneyByCurrency]:
    rows = (
        Payment.objects.filter(tenant__in=tenants, created_at__gte=period.start)
        .values("state", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
    )
    return _by_state(rows, "state")


def success_rate(by_state: dict[str, MoneyByCurrency]) -> float | None:
    finished = sum(by_state[s].count for s in FINISHED_STATES if s in by_state)
    if not finished:
        return None
    return by_state.get(PaymentState.SUCCESS, MoneyByCurrency()).count / finished


def refunds_by_state(tenants, period: Period) -> dict[str, MoneyByCurrency]:
    rows = (
        Refund.objects.filter(tenant__in=tenants, created_at__gte=period.start)
        .values("state", currency=F("payment__currency"))
        .annotate(count=Count("id"), amount=Sum("amount"))
    )
    return _by_state(rows, "state")


def disputes_by_status(tenants, period: Period) -> dict[str, MoneyByCurrency]:
    rows = (
        Dispute.objects.filter(tenant__in=tenants, created_at__gte=period.start)
        .values("status", "currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
    )
    return _by_state(rows, "status")


@dataclass(frozen=True)
class CollectionFigures:
    runs_by_state: dict[str, int]
    selected: int
    collected: int
    returned: int
    failed: int
    returns_by_reason: list[tuple[str, int]]


def collection_figures(tenants, period: Period) -> CollectionFigures:
    runs = CollectionRun.objects.filter(tenant__in=tenants, created_at__gte=period.start)
    runs_by_state = dict(runs.values_list("state").annotate(n=Count("id")).order_by())
    selected = runs.aggregate(n=Sum("selected_count"))["n"] or 0
    attempts = CollectionAttempt.objects.filter(tenant__in=tenants, run__in=runs)
    # Aggregate names must not be field names ("returned" is one).
    counts = attempts.aggregate(
        n_collected=Count("id", filter=Q(state=CollectionAttempt.State.COLLECTED)),
        n_returned=Count("id", filter=Q(state=CollectionAttempt.State.FAILED, returned=True)),
        n_failed=Count("id", filter=Q(state=CollectionAttempt.State.FAILED, returned=False)),
    )
    # Returns by the day the bank reported them, whichever run presented them.
    reasons = (
        CollectionAttempt.objects.filter(
            tenant__in=tenants, state=CollectionAttempt.State.FAILED, failed_at__gte=period.start
        )
        .values_list("failure_code")
        .annotate(n=Count("id"))
        .order_by("-n", "failure_code")
    )
    return CollectionFigures(
        runs_by_state=runs_by_state,
        selected=selected,
        returns_by_reason=[(code or "unknown", n) for code, n in reasons],
        collected=counts["n_collected"],
        returned=counts["n_returned"],
        failed=counts["n_failed"],
    )


def open_exceptions(tenants, *, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Open reconciliation exceptions per kind and age band (age: since first raised)."""
    now = now or timezone.now()
    aggregates = {}
    for number, (_, low, high) in enumerate(EXCEPTION_AGES):
        condition = Q(created_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            condition &= Q(created_at__gt=now - dt.timedelta(days=high))
        aggregates[f"age_{number}"] = Count("id", filter=condition)
    rows = (
        ReconciliationException.objects.filter(
            tenant__in=tenants, state=ReconciliationException.State.OPEN
        )
        .values("kind")
        .annotate(**aggregates)
        .order_by("kind")
    )
    return {
        row["kind"]: {label: row[f"age_{n}"] for n, (label, _, _) in enumerate(EXCEPTION_AGES)}
        for row in rows
    }


@dataclass(frozen=True)
class WebhookHealth:
    deliveries_by_status: dict[str, int]
    failing_endpoints: int
    flagged_endpoints: int
    oldest_undelivered_at: dt.datetime | None
    oldest_undispatched_at: dt.datetime | None


def webhook_health(tenants, period: Period) -> WebhookHealth:
    deliveries = WebhookDelivery.objects.filter(tenant__in=tenants)
    by_status = dict(
        deliveries.filter(created_at__gte=period.start)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    endpoints = WebhookEndpoint.objects.filter(tenant__in=tenants, enabled=True)
    return WebhookHealth(
        deliveries_by_status=by_status,
        failing_endpoints=endpoints.filter(consecutive_failures__gt=0).count(),
        flagged_endpoints=endpoints.filter(flagged_at__isnull=False).count(),
        oldest_undelivered_at=deliveries.filter(status=WebhookDelivery.Status.PENDING).aggregate(
            t=Min("created_at")
        )["t"],
        oldest_undispatched_at=Event.objects.filter(
            tenant__in=tenants, dispatched_at__isnull=True
        ).aggregate(t=Min("created_at"))["t"],
    )


@dataclass(frozen=True)
class VolumePoint:
    bucket: dt.datetime | dt.date
    created: int
    succeeded: int
    finished: int

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None


def payment_volumes(tenants, period: Period) -> list[VolumePoint]:
    trunc = TruncHour if period.by_hour else TruncDate
    rows = (
        Payment.objects.filter(tenant__in=tenants, created_at__gte=period.start)
        .annotate(bucket=trunc("created_at", tzinfo=timezone.get_current_timezone()))
        .values("bucket")
        .annotate(
            created=Count("id"),
            succeeded=Count("id", filter=Q(state=PaymentState.SUCCESS)),
            finished=Count("id", filter=Q(state__in=FINISHED_STATES)),
        )
    )
    found = {}
    for row in rows:
        bucket = row["bucket"]
        if period.by_hour:
            bucket = timezone.localtime(bucket).replace(minute=0, second=0, microsecond=0)
        found[bucket] = row
    empty = {"created": 0, "succeeded": 0, "finished": 0}
    return [
        VolumePoint(
            bucket=bucket,
            **{k: v for k, v in found.get(bucket, empty).items() if k in empty},
        )
        for bucket in period.buckets()
    ]


# What operators call the scheduled jobs (settings.CELERY_BEAT_SCHEDULE), by task name.
JOB_NAMES = {
    "hub.sweep_outbox": "Outbox sweep (undelivered events and webhook retries)",
    "hub.purge_idempotency_keys": "Expired idempotency keys clean-up",
    "payments.expire_unfinished_payments": "Unfinished payments expiry",
    "payments.resync_with_providers": "Stuck payment check (asks providers for the outcome)",
    "collection.daily": "Daily collection runs",
    "collection.resume_stalled_runs": "Stalled collection run restart",
    "reconciliation.sweep_stripe_payouts": "Stripe payout import",
    "reconciliation.reconcile_yesterday": "Daily reconciliation",
}


@dataclass(frozen=True)
class ScheduledJob:
    pk: int
    name: str
    task: str
    enabled: bool
    last_run_at: dt.datetime | None
    next_run_at: dt.datetime | None


def scheduled_jobs(*, now: dt.datetime | None = None) -> list[ScheduledJob]:
    """Beat's schedule as django-celery-beat keeps it; the next run is estimated from the
    last one as beat itself does."""
    from django_celery_beat.models import PeriodicTask

    now = now or timezone.now()
    jobs = []
    for task in PeriodicTask.objects.select_related(
        "interval", "crontab", "solar", "clocked"
    ).order_by("name"):
        next_run = None
        if task.enabled:
            try:
                schedule = task.schedule
                remaining = schedule.remaining_estimate(task.last_run_at or now)
                next_run = now + max(remaining, dt.timedelta(0))
            except (AttributeError, ValueError, TypeError):  # one-off or solar without data
                next_run = None
        jobs.append(
            ScheduledJob(
                pk=task.pk,
                name=JOB_NAMES.get(task.task, task.name),
                task=task.task,
                enabled=task.enabled,
                last_run_at=task.last_run_at,
                next_run_at=next_run,
            )
        )
    return jobs
