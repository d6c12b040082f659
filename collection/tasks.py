"""Celery tasks: thin, idempotent wrappers that open the tenant scope and call services.

Each can run twice (acks_late redelivery, the sweeper): the services it calls are safe to
repeat (see collection/services/runs.py for why a chunk never collects twice).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from collection.models import CollectionChunk
from collection.selectors import collection_settings
from collection.services import daily, runs
from tenants.scope import all_tenants, tenant_scope
from tenants.selectors import active_tenants


@shared_task(name="collection.daily")
def daily_collections() -> dict:
    """Beat, every morning: per agency, housekeeping and the day's collection run."""
    today = timezone.localdate()
    runs_started = {}
    for tenant in active_tenants():
        with tenant_scope(tenant):
            report = daily.run_day(tenant=tenant, today=today)
        runs_started[tenant.slug] = report.run
    return runs_started


@shared_task(name=runs.COLLECT_CHUNK_TASK)
def collect_chunk(chunk_id: int) -> bool:
    # The task is handed only a chunk id: look it up across agencies to learn whose
    # scope to open.
    with all_tenants():
        chunk = CollectionChunk.objects.select_related("run", "tenant").filter(pk=chunk_id).first()
    if chunk is None:
        return False
    with tenant_scope(chunk.tenant):
        outcome = runs.collect_chunk(chunk=chunk)
        if outcome.done:
            runs.finish_run(run=chunk.run)
    return outcome.done


@shared_task(name="collection.resume_stalled_runs")
def resume_stalled_runs() -> int:
    """Beat, every 30 s: requeue chunks whose worker died, finish orphaned runs."""
    now = timezone.now()
    requeued = 0
    for tenant in active_tenants():
        with tenant_scope(tenant):
            if collection_settings(tenant).runs_paused:
                continue  # resumed when an operator lifts the pause
            for run in runs.unfinished_runs(tenant=tenant):
                runs.finish_run(run=run)
            for chunk_id in runs.take_stalled_chunk_ids(tenant=tenant, now=now):
                collect_chunk.delay(chunk_id)
                requeued += 1
    return requeued
