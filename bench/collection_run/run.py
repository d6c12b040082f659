"""Collection run: N due instalments across 20 agencies, collected by one run each.

    .venv/bin/python bench/collection_run/run.py                      # 10,000 then 100,000
    .venv/bin/python bench/collection_run/run.py --sizes 1000 --workers 2
    .venv/bin/python bench/collection_run/run.py --sizes 100000 --workers 2 --scale-out

What is timed is the hub's real path, through the services, on PostgreSQL:

  select   ``runs.start_run`` per agency: the due instalments (one indexed query on the
           submission date), the run row and its chunks of 500.
  collect  ``runs.collect_chunk`` for every chunk, spread over --workers processes as
           Celery would spread the chunk tasks: per batch of 250 a row-locked claim
           (FOR UPDATE SKIP LOCKED), then set-based writes: payments' bulk service
           (payments, timeline, payment.created and payment.submitted events, one
           statement each), the attempts, the instalments and the instalment.submitted
           events; per agency, the pain.008 file (.08 by default) built and validated
           against its XSD.
  settle   ``outcomes.confirm_matured_collections`` on the settlement date, spread over
           the same processes by agency: ``payments.confirm_direct_debits`` per batch of
           500, which posts the double-entry ledger and publishes payment.succeeded.

The events land in the outbox and their dispatch is queued on Redis on commit, as in
production; no dispatcher consumes them during the run (that cost belongs to the
dispatcher, measured by bench/webhook_fanout).

Baseline, in the same process against the same database: PostgreSQL COPY of the same
number of rows into the payments table (the cheapest way to get that many payments into
the database at all), deleted again afterwards.

Set-up (not timed) makes each size's agencies, constituents, registrations, debts,
mandates, plans and instalments by COPY (the rows bulk_create would write). The database
(hub_collection_bench, or the one DATABASE_URL names) is dropped and re-created at the
start, so every invocation starts empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # bench_common

from bench_common import busy_cpus, use_stable_secrets  # noqa: E402

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "hub.settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hub_collection_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "HUB_VAR_DIR": "/tmp/hub-collection-bench",
    "DEBUG": "0",
    "LOG_LEVEL": "WARNING",
}
TENANTS = 20
RUN_DATE = dt.date(2024, 2, 29)  # submission day of instalments due Friday 1 March 2024
DUE = dt.date(2024, 3, 1)
CREDITOR = {
    "creditor_name": "Benchmark Agency",
    "creditor_iban": "NL91ABNA0417164300",
    "creditor_bic": "ABNANL2A",
    "creditor_id": "DE98ZZZ09999999999",
}


def configure_environment() -> None:
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    var_dir = Path(os.environ["HUB_VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    use_stable_secrets(var_dir / "bench-collection-keys.json")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def recreate_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --------------------------------------------------------------------------- set-up


def _ibans(count: int) -> list[str]:
    from schwifty import IBAN

    from collection.schemes import AccountError, validate_iban

    found, account = [], 1_000_000_000
    while len(found) < count:
        account += 7
        candidate = str(IBAN.generate("DE", bank_code="37040044", account_code=str(account)))
        try:
            found.append(validate_iban(candidate, sepa_only=True))
        except AccountError:
            continue
    return found


# Field classes whose Python value is what PostgreSQL's COPY takes as is (bulk_create's
# get_db_prep_save returns it unchanged); any other field (the encrypted IBANs, JSON) is
# prepared by the field itself, exactly as bulk_create prepares it.
_PLAIN_FIELDS = [
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateField",
    "DateTimeField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
]


def _copy(model, objects: list) -> None:
    """``model.objects.bulk_create(objects)`` by COPY: the same rows (every value
    prepared as bulk_create prepares it, auto_now stamped), several times faster, which
    makes a 1,000,000-instalment set-up minutes instead of a quarter of an hour."""
    from django.db import connection, models

    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField | models.BigAutoField))
    ]
    plain = [
        type(field).__name__ in _PLAIN_FIELDS and type(field).__module__.startswith("django.")
        for field in fields
    ]
    stamped = {
        field.attname
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    }
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for obj in objects:
            row = []
            for field, is_plain in zip(fields, plain, strict=True):
                if field.attname in stamped:
                    value = field.pre_save(obj, add=True)
                else:
                    value = getattr(obj, field.attname)
                row.append(value if is_plain else field.get_db_prep_save(value, connection))
            copy.write_row(row)


def make_agencies(size: int, label: str = "") -> list:
    """``size`` due instalments spread evenly over 20 agencies, written by COPY."""
    from collection.models import (
        CollectionSettings,
        Debt,
        Instalment,
        Mandate,
        PaymentPlan,
    )
    from collection.schemes import mask_account
    from registration.models import Constituent, Registration
    from tenants import services as tenant_services
    from tenants.ids import new_id
    from tenants.scope import all_tenants

    ibans = _ibans(1000)
    tenants = []
    # The benchmark driver sets up many agencies at once, outside any request.
    with all_tenants():
        for number in range(TENANTS):
            tenant = tenant_services.create_tenant(
                slug=f"bench{label}-{size}-{number:02d}", name=f"Bench agency {number}"
            )
            CollectionSettings.objects.create(tenant=tenant, **CREDITOR)
            service = tenant_services.create_service(
                tenant=tenant, code="tax", name="Tax", interaction_kind="regulatory"
            )
            count = size // TENANTS + (1 if number < size % TENANTS else 0)
            people = [
                Constituent(id=new_id("con"), kind="person", name=f"Debtor {i}")
                for i in range(count)
            ]
            _copy(Constituent, people)
            _copy(
                Registration,
                [
                    Registration(
                        tenant=tenant, constituent=p, purpose="tax", legal_basis="public_task"
                    )
                    for p in people
                ],
            )
            debts = [
                Debt(
                    id=new_id("deb"),
                    tenant=tenant,
                    constituent=p,
                    service=service,
                    reference=f"TAX-{number:02d}-{i:06d}",
                    description="Income tax 2023",
                    amount=1000 + i % 500,
                    balance=1000 + i % 500,
                    currency="EUR",
                    due_date=DUE,
                    state=Debt.State.IN_PLAN,
                )
                for i, p in enumerate(people)
            ]
            _copy(Debt, debts)
            mandates = []
            for i, p in enumerate(people):
                iban = ibans[i % len(ibans)]
                mandates.append(
                    Mandate(
                        id=new_id("man"),
                        tenant=tenant,
                        constituent=p,
                        scheme="sepa_core",
                        reference=f"BENCH-{number:02d}-{i:06d}",
                        signed_on=dt.date(2024, 1, 2),
                        account_holder_name=f"Debtor {i}",
                        iban=iban,
                        account_masked=mask_account(iban),
                        state=Mandate.State.ACTIVE,
                        active_from=dt.date(2024, 1, 2),
                    )
                )
            _copy(Mandate, mandates)
            plans = [
                PaymentPlan(
                    id=new_id("pln"),
                    tenant=tenant,
                    debt=d,
                    mandate=m,
                    total=d.amount,
                    currency="EUR",
                )
                for d, m in zip(debts, mandates, strict=True)
            ]
            _copy(PaymentPlan, plans)
            _copy(
                Instalment,
                [
                    Instalment(
                        tenant=tenant,
                        plan=plan,
                        debt=d,
                        mandate=m,
                        scheme="sepa_core",
                        sequence=1,
                        due_date=DUE,
                        amount=d.amount,
                        currency="EUR",
                        collect_on=DUE,
                        submit_on=RUN_DATE,
                    )
                    for plan, d, m in zip(plans, debts, mandates, strict=True)
                ],
            )
            tenants.append(tenant)
    return tenants


# --------------------------------------------------------------------------- baseline


def copy_payments(tenant, count: int) -> float:
    """Seconds to COPY ``count`` payment rows (every column, as the hub would write them)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from payments.models import Payment
    from tenants.models import Service
    from tenants.scope import all_tenants

    # The benchmark driver, outside any request or job, seeds its agency's rows.
    with all_tenants():
        service = Service.objects.filter(tenant=tenant).first()
    now = timezone.now()
    fields = Payment._meta.concrete_fields
    columns = ", ".join(f'"{f.column}"' for f in fields)

    def row(n: int) -> list:
        values = {
            "tenant_id": tenant.pk,
            "id": f"pay_copy{n:020d}",
            "service_id": service.pk,
            "method": "direct_debit",
            "amount": 1000 + n % 500,
            "currency": "EUR",
            "description": "Income tax 2023 (1)",
            "reference": f"TAX-{n:06d}",
            "metadata": json.dumps({"instalment": f"ins_{n:024d}"}),
            "state": "submitted",
            "provider": "bank_file",
            "provider_reference": f"ATT-{n:024d}",
            "created_at": now,
            "updated_at": now,
        }
        out = []
        for field in fields:
            if field.column in values:
                out.append(values[field.column])
            elif field.null:
                out.append(None)
            else:
                out.append(field.get_default())
        return out

    rows = [row(n) for n in range(count)]  # built before the clock starts, like the run's set-up
    started = time.perf_counter()
    copy_sql = f"COPY payments_payment ({columns}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for values in rows:
            copy.write_row(values)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_payment WHERE id LIKE 'pay_copy%%'")
    return elapsed


# --------------------------------------------------------------------------- the run


def _collect_worker(chunk_ids: list[int]) -> None:
    from django.db import connection

    from collection.models import CollectionChunk
    from collection.services import runs
    from tenants.scope import all_tenants, tenant_scope

    try:
        for chunk_id in chunk_ids:
            # As the collect_chunk task: look the chunk up by id to learn whose scope to open.
            with all_tenants():
                chunk = CollectionChunk.objects.select_related("run__tenant").get(pk=chunk_id)
            with tenant_scope(chunk.run.tenant):
                if runs.collect_chunk(chunk=chunk).done:
                    runs.finish_run(run=chunk.run)
    finally:
        connection.close()


def _settle_worker(tenant_ids: list[str]) -> None:
    from django.db import connection

    from collection.services import outcomes
    from tenants.models import Tenant
    from tenants.scope import tenant_scope

    try:
        for tenant in Tenant.objects.filter(pk__in=tenant_ids):
            with tenant_scope(tenant):
                outcomes.confirm_matured_collections(tenant=tenant, today=DUE)
    finally:
        connection.close()


def _in_processes(target, shares: list[list]) -> float:
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's socket
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    processes = [context.Process(target=target, args=(share,)) for share in shares if share]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise SystemExit(f"a worker failed (exit codes {failed})")
    return elapsed


def collection_run(tenants: list, workers: int) -> dict[str, float]:
    from collection.models import CollectionChunk
    from collection.services import runs
    from tenants.scope import tenant_scope

    timings = {}
    started = time.perf_counter()
    chunk_ids = []
    for tenant in tenants:
        with tenant_scope(tenant):
            run = runs.start_run(tenant=tenant, run_date=RUN_DATE, trigger="api", enqueue=False)
            chunk_ids.append(
                list(
                    CollectionChunk.objects.filter(run=run)
                    .order_by("number")
                    .values_list("pk", flat=True)
                )
            )
    timings["select"] = time.perf_counter() - started
    # Round-robin over agencies and chunks, as a broker hands tasks to free workers.
    order = [c for group in _interleave(chunk_ids) for c in group]
    timings["collect"] = _in_processes(_collect_worker, [order[i::workers] for i in range(workers)])
    ids = [t.pk for t in tenants]
    timings["settle"] = _in_processes(_settle_worker, [ids[i::workers] for i in range(workers)])
    return timings


def _interleave(groups: list[list[int]]):
    longest = max((len(g) for g in groups), default=0)
    for index in range(longest):
        yield [g[index] for g in groups if index < len(g)]


def verify(tenants: list, size: int) -> dict:
    """The run did what it claims: every instalment once, every payment posted, 20 files."""
    from django.db.models import Count, Sum

    from collection.models import CollectionAttempt, CollectionRun, Instalment
    from collection.schemes import validate_pain008
    from payments import selectors as payments_selectors
    from payments.models import LedgerLine, Payment
    from tenants.scope import all_tenants

    ids = [t.pk for t in tenants]
    # The benchmark summary reads every benchmark agency's rows at once.
    with all_tenants():
        attempts = CollectionAttempt.objects.filter(tenant_id__in=ids)
        runs = list(CollectionRun.objects.filter(tenant_id__in=ids))
        summary = {
            "attempts": attempts.count(),
            "instalments_presented": attempts.values("instalment").distinct().count(),
            "instalments_submitted": Instalment.objects.filter(
                tenant_id__in=ids, attempt_count=1
            ).count(),
            "payments_succeeded": Payment.objects.filter(
                tenant_id__in=ids, state="success"
            ).count(),
            "ledger_lines": LedgerLine.objects.filter(tenant_id__in=ids).count(),
            "collected_amount": Payment.objects.filter(
                tenant_id__in=ids, state="success"
            ).aggregate(total=Sum("amount"))["total"],
            "runs_completed": sum(r.state == "completed" for r in runs),
            "files": sum(bool(r.file) for r in runs),
            "file_transactions": sum(r.file.read().count(b"<EndToEndId>") for r in runs if r.file),
        }
        duplicates = attempts.values("instalment").annotate(n=Count("id")).filter(n__gt=1).count()
        balanced = all(payments_selectors.ledger_is_balanced(tenant=t) for t in tenants)
        for run in runs[:1]:
            run.file.open("rb")
            validate_pain008(run.file.read())
    problems = []
    expected = {
        "attempts": size,
        "instalments_presented": size,
        "instalments_submitted": size,
        "payments_succeeded": size,
        "ledger_lines": 2 * size,
        "runs_completed": TENANTS,
        "files": TENANTS,
        "file_transactions": size,
    }
    for key, value in expected.items():
        if summary[key] != value:
            problems.append(f"{key}: {summary[key]} != {value}")
    if duplicates:
        problems.append(f"{duplicates} instalments presented twice")
    if not balanced:
        problems.append("ledger does not balance")
    if problems:
        raise SystemExit("verification failed: " + "; ".join(problems))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="also run each size with 1 worker process, on agencies of its own, and print "
        "the time with --workers against the time with 1 (aim: at most 0.6 with 2)",
    )
    args = parser.parse_args()

    configure_environment()
    recreate_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection

    print(
        f"collection run bench: {TENANTS} agencies, {args.workers} worker processes, "
        f"PostgreSQL {connection.cursor().connection.info.server_version}, "
        f"{os.cpu_count()} CPUs"
    )
    rows, scale_rows = [], []
    for size in args.sizes:
        started = time.perf_counter()
        tenants = make_agencies(size)
        print(
            f"\n{size:,} instalments: set-up (COPY, not timed) {time.perf_counter() - started:.1f} s"
        )
        print(f"  other work on the machine before the run: {busy_cpus():.1f} busy CPUs")
        baseline = copy_payments(tenants[0], size)
        timings = collection_run(tenants, args.workers)
        summary = verify(tenants, size)
        total = sum(timings.values())
        print(
            f"  select {timings['select']:.1f} s, collect {timings['collect']:.1f} s, "
            f"settle {timings['settle']:.1f} s; verified: {summary['attempts']:,} attempts, "
            f"{summary['payments_succeeded']:,} payments posted ({summary['ledger_lines']:,} "
            f"ledger lines), {summary['files']} pain.008 files"
        )
        rows.append((size, baseline, timings, total))
        if args.scale_out and args.workers > 1:
            single_tenants = make_agencies(size, label="-single")
            single = collection_run(single_tenants, 1)
            verify(single_tenants, size)
            single_total = sum(single.values())
            scale_rows.append((size, single_total, total))
            print(
                f"  1 worker: {single_total:.1f} s (select {single['select']:.1f}, collect "
                f"{single['collect']:.1f}, settle {single['settle']:.1f}); "
                f"{args.workers} workers / 1 worker = {total / single_total:.2f}"
            )

    print(
        "\n  instalments | COPY baseline | collection run (select+collect+settle) | per instalment | run / COPY"
    )
    for size, baseline, timings, total in rows:
        print(
            f"  {size:>11,} | {baseline:>10.2f} s | {total:>10.1f} s "
            f"({timings['select']:.1f} + {timings['collect']:.1f} + {timings['settle']:.1f})"
            f"{'':>8} | {total / size * 1e3:>9.2f} ms | {total / baseline:>8.1f}x"
        )
    for size, single_total, total in scale_rows:
        print(
            f"  scale-out at {size:,}: {args.workers} workers {total:.1f} s, 1 worker "
            f"{single_total:.1f} s, ratio {total / single_total:.2f} (aim: <= 0.6 with 2)"
        )


if __name__ == "__main__":
    main()
