"""The hub's own Prometheus metrics: requests, Celery tasks and webhook attempts.

Multiprocess mode, not a push gateway: the web server, every worker process and beat
write their samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (settings.py points it at
``$HUB_VAR_DIR/metrics`` unless it is set), and ``/metrics`` adds them up. Pushing
would need one more server to run and loses the figures of a worker killed between
pushes; the files survive a killed worker, need nothing but a shared disk (the worker
and web server of ``make run`` share ./var) and are read only when scraped. Where web
and workers run on different machines, each machine's web process exports what that
machine's processes wrote, and Prometheus scrapes each machine.

Figures that are states of rows (payments by state, the outbox's lag, open
exceptions) are not counted here but read from the database at scrape time by
``operations.metrics``: they are then right whichever process changed the rows.
"""

from __future__ import annotations

import os

from django.conf import settings

# prometheus_client picks its value store (in memory or the shared files) when it is
# first imported, from this variable: it must be set before that import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.HUB_METRICS_DIR))

from prometheus_client import Counter, Histogram

# Seconds: an API call is tens of milliseconds, a statement import or a collection
# chunk can take minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600)

http_requests = Counter(
    "hub_http_requests",
    "HTTP requests answered, by route pattern, method and status code",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
celery_tasks = Counter(
    "hub_celery_tasks",
    "Celery tasks finished, by task name and outcome (succeeded, failed, retried)",
    ["task", "outcome"],
)
celery_task_duration = Histogram(
    "hub_celery_task_duration_seconds",
    "Time a Celery task ran, by task name",
    ["task"],
    buckets=TASK_BUCKETS,
)
webhook_attempts = Counter(
    "hub_webhook_attempts",
    "Webhook delivery attempts, by outcome (succeeded, failed)",
    ["outcome"],
)
webhook_attempt_duration = Histogram(
    "hub_webhook_attempt_duration_seconds",
    "Time from sending a webhook to its receiver's answer (or the error)",
    buckets=LATENCY_BUCKETS,
)


def observe_webhook_attempt(*, succeeded: bool, latency_ms: int) -> None:
    webhook_attempts.labels("succeeded" if succeeded else "failed").inc()
    webhook_attempt_duration.observe(latency_ms / 1000)
