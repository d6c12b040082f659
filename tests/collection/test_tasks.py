"""The Celery tasks open their own tenant scopes and are safe to run twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from collection import tasks
from collection.models import CollectionChunk, CollectionRun
from collection.services import runs
from tenants.scope import tenant_scope

pytestmark = pytest.mark.django_db


def test_daily_task_runs_each_agency_once_a_day(tenant, other_tenant, collections, monkeypatch):
    from tests.collection.conftest import Collections

    Collections(other_tenant)
    monday = dt.date(2024, 3, 4)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: monday)
    first = tasks.daily_collections()
    second = tasks.daily_collections()
    assert first == second
    assert set(first) == {tenant.slug, other_tenant.slug}
    with tenant_scope(tenant):
        assert CollectionRun.objects.filter(run_date=monday, trigger="schedule").count() == 1


def test_daily_task_skips_a_suspended_agency(tenant, other_tenant, collections, monkeypatch):
    from tenants import services as tenant_services
    from tenants.models import Tenant
    from tests.collection.conftest import Collections

    Collections(other_tenant)
    tenant_services.set_tenant_status(tenant=other_tenant, status=Tenant.Status.SUSPENDED)
    monday = dt.date(2024, 3, 4)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: monday)
    assert set(tasks.daily_collections()) == {tenant.slug}
    with tenant_scope(other_tenant):
        assert not CollectionRun.objects.filter(run_date=monday).exists()


def test_chunk_task_collects_and_finishes_the_run(tenant, collections):
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        chunk = CollectionChunk.objects.get(run=run)
    assert tasks.collect_chunk(chunk.pk) is True
    assert tasks.collect_chunk(chunk.pk) is True  # redelivered: nothing more happens
    assert tasks.collect_chunk(10**9) is False  # gone (a stale message)
    with tenant_scope(tenant):
        run.refresh_from_db()
    assert (run.state, run.submitted_count) == (CollectionRun.State.COMPLETED, 1)


def test_sweeper_requeues_chunks_of_stalled_runs_and_finishes_orphans(
    tenant, collections, monkeypatch
):
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        chunk = CollectionChunk.objects.get(run=run)
    queued = []
    monkeypatch.setattr(tasks.collect_chunk, "delay", queued.append)
    assert tasks.resume_stalled_runs() == 0  # just started: someone is on it
    with tenant_scope(tenant):
        CollectionRun.objects.filter(pk=run.pk).update(
            created_at=timezone.now() - runs.STALLED_AFTER - dt.timedelta(minutes=1)
        )
    assert tasks.resume_stalled_runs() == 1
    assert queued == [chunk.pk]

    # Every chunk done, but the worker died before finishing the run: the sweeper does it.
    with tenant_scope(tenant):
        runs.collect_chunk(chunk=chunk)
        assert CollectionRun.objects.get(pk=run.pk).state == CollectionRun.State.RUNNING
    tasks.resume_stalled_runs()
    with tenant_scope(tenant):
        assert CollectionRun.objects.get(pk=run.pk).state == CollectionRun.State.COMPLETED

    # A paused agency's stalled runs wait for the pause to be lifted.
    with tenant_scope(tenant):
        paused_run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 3, 28), trigger="api", enqueue=False
        )
        CollectionRun.objects.filter(pk=paused_run.pk).update(
            created_at=timezone.now() - runs.STALLED_AFTER - dt.timedelta(minutes=1)
        )
    collections.update_settings(runs_paused=True)
    queued.clear()
    assert tasks.resume_stalled_runs() == 0 and queued == []


def test_sweeper_goes_by_the_chunks_last_progress_and_requeues_once_per_cut_off(
    tenant, collections, monkeypatch
):
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        chunk = CollectionChunk.objects.get(run=run)
        long_ago = timezone.now() - runs.STALLED_AFTER - dt.timedelta(minutes=1)
        CollectionRun.objects.filter(pk=run.pk).update(created_at=long_ago)
        # An old run whose worker reported progress a moment ago is not stalled.
        CollectionChunk.objects.filter(pk=chunk.pk).update(progressed_at=timezone.now())
    queued = []
    monkeypatch.setattr(tasks.collect_chunk, "delay", queued.append)
    assert tasks.resume_stalled_runs() == 0

    # The worker died: no progress since. One sweep past the cut-off requeues the chunk ...
    with tenant_scope(tenant):
        CollectionChunk.objects.filter(pk=chunk.pk).update(progressed_at=long_ago)
    assert tasks.resume_stalled_runs() == 1
    # ... and the next sweeps leave it to the requeued task for another cut-off.
    assert tasks.resume_stalled_runs() == 0
    assert queued == [chunk.pk]


def test_working_a_chunk_stamps_its_progress(tenant, collections):
    collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        chunk = CollectionChunk.objects.get(run=run)
        assert chunk.progressed_at is None
        before = timezone.now()
        runs.collect_chunk(chunk=chunk)
        chunk.refresh_from_db()
    assert chunk.progressed_at is not None and chunk.progressed_at >= before


def test_a_started_run_queues_its_chunks_on_the_chunk_task_once_committed(
    tenant, collections, django_capture_on_commit_callbacks
):
    """runs.py finds the task by name (tasks.py imports runs.py, not the other way)."""
    from hub.celery import app

    collections.debt_in_plan()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the task runs here instead of on a broker
    try:
        with tenant_scope(tenant):
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                run = runs.start_run(tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api")
            assert run.state != CollectionRun.State.COMPLETED  # nothing ran before commit
            for callback in callbacks:
                callback()
            run.refresh_from_db()
            assert (run.state, run.submitted_count) == (CollectionRun.State.COMPLETED, 1)
            assert set(CollectionChunk.objects.filter(run=run).values_list("state", flat=True)) == {
                CollectionChunk.State.DONE
            }
    finally:
        app.conf.task_always_eager = eager
