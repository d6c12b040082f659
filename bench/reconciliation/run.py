"""Import + match a camt.053 of N entries against N expected payments, beside a baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_recon_bench \\
        python bench/reconciliation/run.py --entries 100000

The database is created if it does not exist (and migrated). The run fails (exit 1)
when the hub or the baseline does not match every entry, or the hub raises exceptions.

Ours: the hub's importer (streaming parse, batched inserts of lines and details, one
transaction) then a reconciliation run over the day (matching in batches, report rows,
totals), exactly as the API does them. Baseline: the same file parsed with lxml
iterparse and joined on the end-to-end id with a Python dict of the expected payments,
storing nothing.

Each measurement runs in its own subprocess, which reports its wall time, its peak
resident memory (ru_maxrss) and, in a second run, the peak of Python allocations
(tracemalloc, which slows the run down, so it is not timed). The payments are
bank-file direct debits whose end-to-end ids are the file's (E2E-000000001, …), inserted
in bulk before the measurement: setting them up is not what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench_common import busy_cpus, ensure_database  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/hub_recon_bench"
BOOKING_DATE = "2024-03-01"
SETUP_BATCH = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced runs")
    parser.add_argument("--child", choices=["setup", "ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--tenant", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    n = args.entries
    ensure_database(args.database_url)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    path = Path(args.workdir) / f"bench-camt053-{n}.xml"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(HERE / "make_camt053.py"), str(n), str(path)], check=True
        )
    size_mb = path.stat().st_size / 1024**2
    print(f"camt.053 with {n:,} entries: {size_mb:,.1f} MB; database {args.database_url}")
    print(
        "load average (1, 5, 15 min) at the start: "
        + ", ".join(f"{v:.1f}" for v in os.getloadavg())
        + f"; CPUs busy with other work: {busy_cpus():.1f} of {os.cpu_count()}"
    )

    results: dict[str, dict] = {"ours": {}, "baseline": {}}
    for traced in (False, True):
        if traced and args.no_tracemalloc:
            continue
        # A fresh agency each time: the second import of a file would be a no-op.
        tenant = _spawn(args, "setup", path)["tenant"]
        for label in ("ours", "baseline"):
            results[label].update(_spawn(args, label, path, tenant=tenant, trace=traced))
    _report(n, results)
    problems = _verify(n, results)
    # Shared machine: say how busy it was, since every figure depends on it.
    print(
        "load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    )
    if problems:
        print("\nWRONG RESULTS:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


def _verify(n: int, results: dict) -> list[str]:
    """Every entry pays one payment of the day: anything else is a bug, not a figure."""
    ours, base = results["ours"], results["baseline"]
    problems = []
    if ours["matched"] != n:
        problems.append(f"the hub matched {ours['matched']:,} of {n:,} entries")
    if base["matched"] != n:
        problems.append(f"the baseline matched {base['matched']:,} of {n:,} entries")
    if ours["exceptions"] != 0:
        problems.append(f"the hub raised {ours['exceptions']:,} exceptions (expected none)")
    if ours["variance"] != 0:
        problems.append(f"the run's variance is {ours['variance']} (expected 0)")
    if ours.get("unmatched", 0) != 0:
        problems.append(f"{ours['unmatched']:,} report rows are unmatched (expected none)")
    return problems


def _spawn(args, child: str, path: Path, *, tenant: str | None = None, trace=False) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        child,
        "--file",
        str(path),
        "--entries",
        str(args.entries),
    ]
    if tenant:
        command += ["--tenant", tenant]
    if trace:
        command.append("--trace")
    env = {**os.environ, "DATABASE_URL": args.database_url}
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{child} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(n: int, results: dict) -> None:
    ours, base = results["ours"], results["baseline"]
    print(f"\n{'':34}{'hub import + match':>20}{'baseline dict join':>20}")
    print(f"{'entries matched':34}{ours['matched']:>20,}{base['matched']:>20,}")
    print(f"{'import (parse + store), s':34}{ours['import_s']:>20.1f}{'-':>20}")
    print(f"{'match + report, s':34}{ours['match_s']:>20.1f}{'-':>20}")
    print(f"{'total wall time, s':34}{ours['total_s']:>20.1f}{base['total_s']:>20.1f}")
    print(f"{'ratio to the baseline':34}{ours['total_s'] / base['total_s']:>19.1f}x{'1.0x':>20}")
    print(f"{'entries per second':34}{n / ours['total_s']:>20,.0f}{n / base['total_s']:>20,.0f}")
    print(f"{'peak RSS (ru_maxrss), MB':34}{ours['maxrss_mb']:>20.0f}{base['maxrss_mb']:>20.0f}")
    if "traced_peak_mb" in ours:
        print(
            f"{'peak Python allocations, MB':34}"
            f"{ours['traced_peak_mb']:>20.1f}{base['traced_peak_mb']:>20.1f}"
        )
    print(f"{'variance (received - expected)':34}{ours['variance']:>20}{'-':>20}")


# --- the subprocesses -------------------------------------------------------------------


def _child(args) -> int:
    if args.child == "baseline":
        _django()  # to read the expected payments from the same database
        result = _measure(lambda: _baseline(args), trace=args.trace)
    elif args.child == "setup":
        _django(migrate=True)
        result = {"tenant": _setup(args.entries)}
    else:
        _django()
        result = _measure(lambda: _ours(args), trace=args.trace)
    print(json.dumps(result))
    return 0


def _django(migrate: bool = False) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("HUB_VAR_DIR", str(Path(tempfile.gettempdir()) / "hub-recon-bench"))
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    django.setup()
    # DEBUG keeps every SQL statement (bulk inserts included) in memory: a benchmark of
    # memory must run as production does.
    settings.DEBUG = False
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _measure(work, *, trace: bool) -> dict:
    import resource
    import tracemalloc

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = work()
    result["total_s"] = time.perf_counter() - started
    if trace:
        result = {"traced_peak_mb": tracemalloc.get_traced_memory()[1] / 1024**2}
        tracemalloc.stop()
    else:
        result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _setup(n: int) -> str:
    """A fresh agency with N collected bank-file direct debits, one per entry."""
    sys.path.insert(0, str(HERE))
    from datetime import datetime
    from datetime import time as clock

    from make_camt053 import amount_minor

    from payments.models import Payment, PaymentMethod, PaymentState
    from tenants import services as tenants
    from tenants.scope import tenant_scope

    tenant = tenants.create_tenant(slug=f"bench-{os.urandom(4).hex()}", name="Benchmark")
    service = tenants.create_service(
        tenant=tenant, code="bench", name="Bench", interaction_kind="regulatory"
    )
    collected = datetime.combine(datetime.fromisoformat(BOOKING_DATE).date(), clock(12), UTC)
    with tenant_scope(tenant):
        for start in range(1, n + 1, SETUP_BATCH):
            Payment.objects.bulk_create(
                Payment(
                    tenant=tenant,
                    service=service,
                    method=PaymentMethod.DIRECT_DEBIT,
                    amount=amount_minor(i),
                    currency="EUR",
                    description="Benchmark instalment",
                    reference=f"DEBT-{i}",
                    provider="bank_file",
                    provider_reference=f"E2E-{i:09d}",
                    metadata={"end_to_end_id": f"E2E-{i:09d}"},
                    state=PaymentState.SUCCESS,
                    finished_at=collected,
                    created_at=collected,
                    updated_at=collected,
                )
                for i in range(start, min(start + SETUP_BATCH, n + 1))
            )
    # A hub in use has planner statistics for its payments (autovacuum keeps them).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_payment")
    return tenant.slug


def _ours(args) -> dict:
    from datetime import date

    from reconciliation import services
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug=args.tenant)
    started = time.perf_counter()
    with open(args.file, "rb") as handle:
        services.import_statement_file(
            tenant=tenant, file=handle, file_name=Path(args.file).name, imported_by="bench"
        )
    imported = time.perf_counter()
    day = date.fromisoformat(BOOKING_DATE)
    run = services.start_run(
        tenant=tenant, period_start=day, period_end=day, trigger="api", requested_by="bench"
    )
    return {
        "import_s": imported - started,
        "match_s": time.perf_counter() - imported,
        "matched": run.matched_count,
        "variance": run.totals["EUR"]["variance"],
        "exceptions": run.exception_count,
        "unmatched": run.unmatched_expected_count + run.unmatched_reported_count,
    }


def _baseline(args) -> dict:
    """lxml iterparse of the same file, joined on the end-to-end id with a dict."""
    from decimal import Decimal

    from lxml import etree

    from payments.models import Payment
    from tenants.models import Tenant
    from tenants.scope import tenant_scope

    tenant = Tenant.objects.get(slug=args.tenant)
    with tenant_scope(tenant):
        expected = dict(
            Payment.objects.filter(state="success").values_list("provider_reference", "amount")
        )
    namespace = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}"
    matched = 0
    for _, entry in etree.iterparse(args.file, tag=f"{namespace}Ntry"):
        reference = entry.findtext(f".//{namespace}EndToEndId")
        amount = int(Decimal(entry.findtext(f"{namespace}Amt")) * 100)
        if expected.get(reference) == amount:
            matched += 1
        entry.clear(keep_tail=True)
        while entry.getprevious() is not None:
            del entry.getparent()[0]
    return {"matched": matched}


if __name__ == "__main__":
    sys.exit(main())
