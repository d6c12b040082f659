"""Runs under real concurrency on PostgreSQL: parallel workers, and a worker killed mid-run.

Both tests commit (transactional tests) so that other connections and another process see
the data, exactly as Celery workers would.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from collection.models import CollectionAttempt, CollectionChunk, CollectionRun, Instalment
from collection.services import runs
from payments.models import Payment
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections

LEAP_DAY = dt.date(2024, 2, 29)


def due_run(tenant, count: int, chunk_size: int) -> CollectionRun:
    setup = Collections(tenant)
    setup.update_settings(chunk_size=chunk_size)
    for _ in range(count):
        setup.debt_in_plan(amount=300)
    with tenant_scope(tenant):
        return runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api", enqueue=False)


def assert_each_instalment_presented_once(tenant, run, count: int) -> None:
    with tenant_scope(tenant):
        attempts = list(CollectionAttempt.objects.filter(run=run))
        assert len(attempts) == count
        assert len({a.instalment_id for a in attempts}) == count
        assert {a.number for a in attempts} == {1}
        assert Payment.objects.count() == count
        assert len({a.payment_id for a in attempts}) == count
        first = Instalment.objects.filter(sequence=1)
        assert set(first.values_list("state", flat=True)) == {Instalment.State.SUBMITTED}
        assert set(first.values_list("attempt_count", flat=True)) == {1}
        run.refresh_from_db()
    assert run.state == CollectionRun.State.COMPLETED
    assert run.submitted_count == count
    assert run.file and run.file.read().count(b"<EndToEndId>") == count


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_run_collect_every_instalment_exactly_once(make_tenant):
    tenant = make_tenant()
    count = 40
    run = due_run(tenant, count, chunk_size=10)
    barrier = threading.Barrier(2)
    submitted: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait(timeout=10)
            total = 0
            with tenant_scope(tenant):
                # Both workers go through every chunk in the same order: they meet on the
                # same rows all the time, which is the case the row locks must handle.
                for chunk in CollectionChunk.objects.filter(run=run).order_by("number"):
                    total += runs.collect_chunk(chunk=chunk, batch_size=4).submitted
                runs.finish_run(run=run)
            submitted.append(total)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(submitted) == count, submitted
    assert_each_instalment_presented_once(tenant, run, count)


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def _collect_in_subprocess(run, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "HUB_VAR_DIR": str(settings.VAR_DIR)}
    return subprocess.Popen(
        [sys.executable, "manage.py", "collect_chunk", "--run", run.pk, *extra],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _submitted(tenant, run) -> int:
    with tenant_scope(tenant):
        return CollectionAttempt.objects.filter(run=run).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_and_a_rerun_collect_nothing_twice(make_tenant):
    tenant = make_tenant()
    count = 60
    run = due_run(tenant, count, chunk_size=1000)
    worker = _collect_in_subprocess(run, "--batch-size", "3", "--throttle-ms", "40")
    deadline = time.monotonic() + 60
    try:
        while _submitted(tenant, run) < 9:
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker collected nothing in 60 s"
            time.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # no clean-up, no rollback by the worker itself
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    before = _submitted(tenant, run)
    assert 9 <= before < count, "kill the worker mid-run, not after it finished"
    with tenant_scope(tenant):
        run.refresh_from_db()
        assert run.state == CollectionRun.State.RUNNING

    rerun = _collect_in_subprocess(run)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert b"completed" in out
    assert_each_instalment_presented_once(tenant, run, count)
