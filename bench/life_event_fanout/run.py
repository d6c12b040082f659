"""Life-event fan-out: one death, 50 registered agencies, 50 verified webhooks.

    .venv/bin/python bench/life_event_fanout/run.py [--agencies 50] [--rounds 5]

One constituent is registered with 50 agencies, each with its own local webhook
receiver (a process that verifies Standard Webhooks signatures). The clock starts when
one agency POSTs the death (`/api/v1/constituents/{id}/life-events`, through the whole
Django stack in this process) and stops at the 50th verified receipt: the API call,
the outbox rows, one Celery worker dispatching 50 events and sending 50 signed POSTs.
Beside it, in the same run: 50 plain signed POSTs from one process to the same
receivers. Each round uses a fresh constituent, registered with every agency; the
round starts once the worker has dispatched those registrations (and the previous
round's subscribers), so it measures the death alone. The median and best rounds are
shown.

Runs on PostgreSQL and Redis like production, reusing the environment, receivers and
worker handling of bench/webhook_fanout (own database and broker number).
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FANOUT = HERE.parent / "webhook_fanout"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_life")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("HUB_VAR_DIR", "/tmp/hub-bench-life")


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fanout = load("webhook_fanout_run", FANOUT / "run.py")
receivers_module = load("receivers", FANOUT / "receivers.py")
SLUG_PREFIX = "bench-life-"
POST_TIMES: list[float] = []


def prepare_agencies(count: int, receivers):
    from hub.events.endpoints import create_endpoint
    from tenants import services
    from tenants.models import Tenant

    agencies = []
    for number, receiver in enumerate(receivers):
        slug = f"{SLUG_PREFIX}{number:02d}"
        tenant = Tenant.objects.filter(slug=slug).first() or services.create_tenant(
            slug=slug, name=f"Life-event bench agency {number}"
        )
        fanout.delete_rows(tenant, endpoints=True)
        created = create_endpoint(
            tenant=tenant, url=receiver.url, event_types=["constituent.life_event"]
        )
        receiver.set_secret(created.secret)
        secret = services.issue_api_key(tenant=tenant, name="bench").secret
        agencies.append((tenant, secret))
    return agencies


def register_everywhere(agencies) -> str:
    from registration import services as registry
    from tests.support.identifiers import random_bsn

    bsn = random_bsn()
    constituent = None
    for tenant, _ in agencies:
        constituent = registry.register_constituent(
            tenant=tenant,
            actor="bench",
            kind="person",
            identifier_scheme="nl_bsn",
            identifier_value=bsn,
            name="Bench Person",
            purpose="bench",
            legal_basis="public_task",
        ).constituent
    return constituent.pk


def wait_until_dispatched(agencies, limit: float = 60.0) -> None:
    from hub.events.models import Event
    from tenants.scope import all_tenants

    deadline = time.monotonic() + limit
    # The benchmark driver, outside any request or job, polls its own agencies' rows.
    with all_tenants():
        pending = Event.objects.filter(
            tenant__in=[tenant for tenant, _ in agencies], dispatched_at__isnull=True
        )
        while pending.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker left events undispatched for {limit:.0f} s")
            time.sleep(0.05)


def hub_round(agencies, receivers, constituent_id: str) -> float:
    from rest_framework.test import APIClient

    _, reporter_secret = agencies[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_secret}")
    before = sum(r.verified for r in receivers)
    started = time.monotonic()
    response = client.post(
        f"/api/v1/constituents/{constituent_id}/life-events",
        {"kind": "death", "occurred_on": "2026-11-01"},
        format="json",
    )
    posted = time.monotonic() - started
    if response.status_code != 201:
        raise RuntimeError(f"life event POST answered {response.status_code}: {response.content}")
    if not fanout.wait_for(receivers, before + len(receivers), limit=60):
        raise RuntimeError("not every agency received the life event within 60 s")
    last = 0.0
    for number, receiver in enumerate(receivers):
        report = receiver.report()
        new = [at for _webhook_id, at in report.receipts if at >= started]
        # Exactly one verified life event per agency, and no rejected signature.
        if len(new) != 1 or report.rejected:
            raise RuntimeError(
                f"agency {number}: {len(new)} verified life events, {report.rejected} rejected"
            )
        last = max(last, new[0])
    POST_TIMES.append(posted)
    return last - started


def baseline_round(receivers) -> float:
    import requests

    session = requests.Session()
    keys = [base64.b64decode(r.secret.removeprefix("whsec_")) for r in receivers]
    message_id, body = fanout.envelope(
        "constituent.life_event",
        "bench",
        {"constituent": "con_x", "kind": "death", "occurred_on": "2026-11-01"},
    )
    started = time.monotonic()
    for receiver, key in zip(receivers, keys, strict=True):
        response = fanout.signed_post(session, receiver.url, key, message_id, body)
        if response.status_code != 200:
            raise RuntimeError(f"baseline POST answered {response.status_code}")
    elapsed = time.monotonic() - started
    session.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", default="threads:8", help="pool:concurrency")
    args = parser.parse_args()

    var_dir = fanout.configure_environment()
    fanout.ensure_database(os.environ["DATABASE_URL"])
    fanout.setup_django()
    from hub.celery import app

    context = multiprocessing.get_context("spawn")
    receivers = [receivers_module.ReceiverProcess(context) for _ in range(args.agencies)]
    pool, concurrency = args.worker.split(":")
    worker = None
    try:
        from tenants.scope import all_tenants

        # The benchmark driver sets up several agencies at once, outside any request.
        with all_tenants():
            agencies = prepare_agencies(args.agencies, receivers)
        app.control.purge()
        worker = fanout.Worker(pool, int(concurrency), var_dir / "life-event-worker.log")
        worker.wait_ready()
        hub_times, baseline_times = [], []
        for _ in range(args.rounds):
            # One person registered with every benchmark agency: a cross-agency write.
            with all_tenants():
                constituent_id = register_everywhere(agencies)
            # The worker first finishes the registration events (and the previous
            # round's subscribers): the clock measures the death alone, not a backlog.
            wait_until_dispatched(agencies)
            hub_times.append(hub_round(agencies, receivers, constituent_id))
            baseline_times.append(baseline_round(receivers))
    finally:
        if worker:
            worker.stop()
        for receiver in receivers:
            receiver.stop()

    def describe(times):
        return (
            f"median {statistics.median(times) * 1000:7.1f} ms   best {min(times) * 1000:7.1f} ms"
        )

    print(
        f"life-event fan-out: 1 death → {args.agencies} registered agencies, "
        f"1 worker ({pool} x{concurrency}), {args.rounds} rounds, PostgreSQL + Redis"
    )
    print(f"hub (POST → {args.agencies}th verified webhook):   {describe(hub_times)}")
    print(f"baseline ({args.agencies} plain signed POSTs):  {describe(baseline_times)}")
    print(
        "  rounds, hub / baseline (ms): "
        + ", ".join(
            f"{h * 1000:.0f}/{b * 1000:.0f}" for h, b in zip(hub_times, baseline_times, strict=True)
        )
    )
    print(
        f"  of which the API request itself (outbox writes, commit): "
        f"median {statistics.median(POST_TIMES) * 1000:.1f} ms"
    )
    print(
        f"ratio (median): {statistics.median(hub_times) / statistics.median(baseline_times):.1f}x "
        "the baseline's time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
