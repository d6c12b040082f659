"""/metrics: the samples every process wrote (hub/observability/metrics.py) plus the
states of rows, read from the database when Prometheus scrapes.

Gauges of row states are read here rather than kept by the processes that change the
rows: a count kept in memory would be wrong after every restart and every change made
by another process; a scrape every 15 to 60 s costs a handful of grouped COUNTs.
"""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from collection.models import CollectionAttempt, CollectionRun
from hub.events.models import Event, WebhookDelivery, WebhookEndpoint
from payments.models import Payment
from reconciliation.models import ReconciliationException
from tenants.scope import all_tenants


class DatabaseCollector:
    """Row states per agency (label ``agency``: its slug; a handful of agencies)."""

    def collect(self):
        now = timezone.now()
        # A scrape is about the whole hub: every agency's rows.
        with all_tenants():
            yield _grouped(
                "hub_payments",
                "Payments by state and provider",
                Payment.objects.values_list("tenant__slug", "state", "provider"),
                ["agency", "state", "provider"],
            )
            yield _grouped(
                "hub_collection_runs",
                "Collection runs by state",
                CollectionRun.objects.values_list("tenant__slug", "state"),
                ["agency", "state"],
            )
            yield _grouped(
                "hub_collection_attempts",
                "Collection-run items (presentations) by outcome",
                CollectionAttempt.objects.values_list("tenant__slug", "state", "returned"),
                ["agency", "state", "returned"],
            )
            yield _grouped(
                "hub_webhook_deliveries",
                "Webhook deliveries by status",
                WebhookDelivery.objects.values_list("tenant__slug", "status"),
                ["agency", "status"],
            )
            yield _grouped(
                "hub_webhook_endpoints_flagged",
                "Enabled webhook endpoints flagged because their deliveries keep failing",
                WebhookEndpoint.objects.filter(enabled=True, flagged_at__isnull=False).values_list(
                    "tenant__slug"
                ),
                ["agency"],
            )
            yield _grouped(
                "hub_reconciliation_exceptions_open",
                "Open reconciliation exceptions by kind",
                ReconciliationException.objects.filter(
                    state=ReconciliationException.State.OPEN
                ).values_list("tenant__slug", "kind"),
                ["agency", "kind"],
            )
            undispatched = Event.objects.filter(dispatched_at__isnull=True).aggregate(
                n=Count("id"), oldest=Min("created_at")
            )
            oldest_pending = WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING
            ).aggregate(oldest=Min("created_at"))["oldest"]
        yield _single(
            "hub_outbox_undispatched_events", "Events not yet dispatched", undispatched["n"]
        )
        yield _single(
            "hub_outbox_lag_seconds",
            "Age of the oldest event not yet dispatched (0 when none)",
            _age(undispatched["oldest"], now),
        )
        yield _single(
            "hub_webhook_oldest_pending_delivery_seconds",
            "Age of the oldest webhook delivery not yet delivered (0 when none)",
            _age(oldest_pending, now),
        )


def _grouped(name, documentation, values_list, labels) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *key, count in values_list.annotate(n=Count("pk")).order_by():
        family.add_metric([str(part).lower() for part in key], count)
    return family


def _single(name, documentation, value) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(since, now) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


def registry(*, with_database: bool = True) -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    if with_database:
        registry.register(DatabaseCollector())
    return registry


def task_failures() -> dict[str, float]:
    """Failed runs per Celery task since the metric files were last cleared (the hub's
    start: ``run_hub`` clears them)."""
    failures: dict[str, float] = {}
    for family in registry(with_database=False).collect():
        if family.name != "hub_celery_tasks":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "failed":
                failures[sample.labels["task"]] = sample.value
    return failures
