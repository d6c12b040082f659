"""Creating payments over HTTP: the hub's ``POST /api/v1/payments`` beside a baseline view.

    .venv/bin/python bench/api_payments/run.py                  # the benchmark (~1.5 min)
    .venv/bin/python bench/api_payments/run.py --load wrk       # wrk drives the load, if installed
    .venv/bin/python bench/api_payments/run.py --profile 300    # where a request's time goes
    .venv/bin/python bench/api_payments/run.py --server-profile /tmp/prof   # cProfile workers

The hub is served by gunicorn (sync workers, 2 x cores + 1 by default) on PostgreSQL and
Redis, like production, with DEBUG off. A load generator on the same machine keeps a
fixed number of requests in flight (16) for a fixed time (15 s per endpoint, in three
turns of 5 s so that load from elsewhere on the machine falls on all three alike) on:

- ``POST /api/v1/payments`` with a unique ``Idempotency-Key`` per request (as a careful
  integrator sends), and the same without the header: sandbox provider, amount 1250
  EUR, a real API key of a bench agency;
- the baseline, ``POST /bench/baseline``: a plain Django view on the same gunicorn
  workers, settings, middleware and database that parses the same JSON body, inserts
  one row and answers 201 with JSON (bench_urls.py; not in the project's URLs).

The rate is 2xx responses per second; any other response, or a broken connection, is
an error, and a run with errors is not a valid figure (exit status 1). The default load
generator is Python (asyncio, standard library only; loadgen.py); ``--load wrk`` uses
wrk instead when it is installed. Beside the rates the bench prints the CPU time the
gunicorn workers and their PostgreSQL backends spent per request (from /proc): on a
shared machine that figure moves much less than req/s does.

The environment below is set unless already set; the database is created and migrated
if needed, and the keys DEBUG=0 requires are generated once into $HUB_VAR_DIR. The
API-key rate limit is raised (HUB_API_RATE=1000000/s) so throttling does not cap the
figure: the throttle still runs its Redis read and write on every request. Nothing
consumes the Celery queue during the run (the outbox enqueues one dispatch task per
payment); the bench purges its own queue and deletes the bench agency's payments,
events, audit entries and idempotency records before and after (--keep-rows keeps them).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # bench_common

from bench_common import busy_cpus, ensure_database, use_stable_secrets  # noqa: E402

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hub_apibench",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "HUB_VAR_DIR": "/tmp/hub-apibench",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "HUB_API_RATE": "1000000/s",
    "LOG_LEVEL": "WARNING",
}
# Always the bench's settings: the hub's settings plus the baseline view's URLconf.
SETTINGS_MODULE = "bench_settings"
TENANT_SLUG = "bench-api-payments"
SERVICE_CODE = "vehicle-tax"
KEY_NAME = "api-payments bench"
AMOUNT, CURRENCY = 1250, "EUR"


# --------------------------------------------------------------------------- set-up


def configure_environment(port: int) -> Path:
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("HUB_PUBLIC_URL", f"http://127.0.0.1:{port}")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    var_dir = Path(os.environ["HUB_VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    use_stable_secrets(var_dir / "bench-api-payments-keys.json")
    path = os.pathsep.join(p for p in (str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PYTHONPATH"] = path
    for entry in (str(REPO), str(HERE)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return var_dir


def setup_django() -> None:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from bench_urls import CREATE_BASELINE_TABLE

    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(CREATE_BASELINE_TABLE)


@dataclass
class Fixture:
    tenant: object
    service_id: str
    secret: str


def make_fixture() -> Fixture:
    """The bench agency, one service and a fresh API key (earlier bench keys revoked)."""
    from tenants.models import ApiKey, Service, Tenant
    from tenants.scope import all_tenants
    from tenants.services import create_service, create_tenant, issue_api_key, revoke_api_key

    tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or create_tenant(
        slug=TENANT_SLUG, name="API payments benchmark"
    )
    # The benchmark driver sets up its agency outside any request or job.
    with all_tenants():
        service = Service.objects.filter(tenant=tenant, code=SERVICE_CODE).first()
        for old in ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True):
            revoke_api_key(api_key=old)
    if service is None:
        service = create_service(
            tenant=tenant,
            code=SERVICE_CODE,
            name="Vehicle tax",
            interaction_kind=Service.InteractionKind.REGULATORY,
        )
    issued = issue_api_key(
        tenant=tenant,
        name=KEY_NAME,
        scopes=[ApiKey.Scope.PAYMENTS_READ, ApiKey.Scope.PAYMENTS_WRITE],
    )
    return Fixture(tenant=tenant, service_id=service.pk, secret=issued.secret)


def delete_rows(tenant) -> None:
    """The bench agency's payments and what they wrote; the baseline's rows."""
    from bench_urls import BASELINE_TABLE
    from django.db import connection

    from hub.events.models import Event, SubscriberReceipt
    from hub.models import AuditEntry, IdempotencyRecord
    from payments.models import Payment, PaymentEvent
    from tenants.scope import all_tenants

    models = [PaymentEvent, Payment, SubscriberReceipt, Event, AuditEntry, IdempotencyRecord]
    # The benchmark driver, outside any request or job, counts its agency's rows.
    with all_tenants():
        for model in models:
            rows = model.objects.filter(
                **({"event__tenant": tenant} if model is SubscriberReceipt else {"tenant": tenant})
            )
            rows._raw_delete("default")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {BASELINE_TABLE}")
        # Each run then starts from the same tables, not from the last run's dead rows.
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        cursor.execute(f"VACUUM ANALYZE {tables}, {BASELINE_TABLE}")


def purge_queue() -> str:
    """Drop the dispatch tasks the run enqueued, if the broker is the bench's own."""
    if os.environ["CELERY_BROKER_URL"] != BENCH_ENV["CELERY_BROKER_URL"]:
        return "Celery queue left as it is (CELERY_BROKER_URL is not the bench's own)"
    from hub.celery import app

    purged = app.control.purge()
    return f"purged {purged} queued dispatch tasks"


# --------------------------------------------------------------------------- requests


def payment_body(service_id: str, reference: str) -> bytes:
    return json.dumps(
        {
            "amount": AMOUNT,
            "currency": CURRENCY,
            "description": "Vehicle tax 2025",
            "reference": reference,
            "service": service_id,
        },
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    idempotency: bool
    authorised: bool


TARGETS = {
    "hub": Target("hub POST /api/v1/payments", "/api/v1/payments", True, True),
    "hub-no-key": Target("hub POST /api/v1/payments", "/api/v1/payments", False, True),
    "baseline": Target("baseline insert-one-row view", "/bench/baseline", False, False),
}


def request_factory(target: Target, *, port: int, fixture: Fixture, run_id: str):
    from loadgen import http_request

    counter = itertools.count(1)
    host = f"127.0.0.1:{port}"
    base_headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if target.authorised:
        base_headers["Authorization"] = f"Bearer {fixture.secret}"

    def make() -> bytes:
        reference = f"{run_id}-{next(counter)}"
        headers = dict(base_headers)
        if target.idempotency:
            headers["Idempotency-Key"] = reference
        return http_request(
            "POST",
            target.path,
            host=host,
            headers=headers,
            body=payment_body(fixture.service_id, reference),
        )

    return make


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving hub.wsgi with the bench settings, as production serves the hub."""

    def __init__(self, *, port, workers, worker_class, threads, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.log = log_path.open("w")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "bench_wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--chdir",
            str(REPO),
            "--timeout",
            "60",
            "--no-control-socket",  # gunicorn 27's default socket is shared per user
        ]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_healthy(self, limit: float = 40.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/health")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200:
                    return
                if response.status != 503:
                    raise SystemExit(f"/api/v1/health answered {response.status}: {body[:300]}")
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not become healthy in {limit:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------- CPU


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process; None if it is gone (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU the gunicorn workers and their PostgreSQL backends spend in a window.

    Unlike req/s, CPU per request hardly depends on what else the machine runs. A
    backend that ends inside the window (CONN_MAX_AGE reconnects) loses its last
    seconds: the PostgreSQL figure can only be an undercount.
    """

    def __init__(self, server: Server) -> None:
        self.server = server

    def _pids(self) -> dict[str, list[int]]:
        from django.db import connection

        master = self.server.process.pid
        try:
            with open(f"/proc/{master}/task/{master}/children") as children:
                workers = [int(p) for p in children.read().split()]
        except OSError:
            workers = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            backends = [row[0] for row in cursor.fetchall()]
        return {"app": workers, "db": backends}

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {
            kind: {pid: cpu for pid in pids if (cpu := process_cpu(pid)) is not None}
            for kind, pids in self._pids().items()
        }

    def since(self, before: dict[str, dict[int, float]]) -> dict[str, float]:
        after = self.snapshot()
        return {
            kind: sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in after[kind].items())
            for kind in after
        }


# --------------------------------------------------------------------------- load


@dataclass
class Figure:
    label: str
    rate: float
    p50: float
    p99: float
    requests: int
    errors: int
    detail: str = ""
    client_cpu: float = float("nan")  # cores the load generator kept busy
    app_cpu_ms: float = float("nan")  # gunicorn workers' CPU per 2xx response
    db_cpu_ms: float = float("nan")  # their PostgreSQL backends' CPU per 2xx response


def run_python(target: Target, *, port, fixture, run_id, concurrency, duration):
    import loadgen

    return loadgen.run(
        target.label,
        host="127.0.0.1",
        port=port,
        make_request=request_factory(target, port=port, fixture=fixture, run_id=run_id),
        concurrency=concurrency,
        duration=duration,
    )


def python_figure(result, cpu: dict[str, float]) -> Figure:
    detail = []
    bad = {s: n for s, n in result.statuses.items() if not 200 <= s < 300}
    if bad:
        detail.append(f"non-2xx {bad}")
    if result.failures:
        detail.append(f"broken connections {result.failures}")
    if result.samples:
        detail.append(f"first error body: {result.samples[0][:200]!r}")
    if result.retries:
        detail.append(f"{result.retries} requests re-sent after a kept-alive connection closed")
    ok = max(1, result.ok)
    return Figure(
        result.label,
        result.rate,
        result.percentile(50),
        result.percentile(99),
        result.ok,
        result.errors,
        "; ".join(detail),
        result.client_cpu_seconds / result.seconds,
        cpu["app"] / ok * 1000,
        cpu["db"] / ok * 1000,
    )


WRK_SCRIPT = r"""
local counter = 0
local threads = {}
local run_id = "@RUN_ID@"
local path = "@PATH@"
local use_key = @USE_KEY@
local auth = "@AUTH@"
local body_template = '@BODY@'

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function request()
  counter = counter + 1
  local ref = string.format("%s-w%d-%d", run_id, tid, counter)
  local headers = {["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  if auth ~= "" then headers["Authorization"] = auth end
  if use_key then headers["Idempotency-Key"] = ref end
  local body = string.gsub(body_template, "@REF@", ref)
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,' ..
    '"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(target: Target, *, port, fixture, run_id, concurrency, duration) -> dict:
    body = payment_body(fixture.service_id, "@REF@").decode()
    script = (
        WRK_SCRIPT.replace("@RUN_ID@", run_id)
        .replace("@PATH@", target.path)
        .replace("@USE_KEY@", "true" if target.idempotency else "false")
        .replace("@AUTH@", f"Bearer {fixture.secret}" if target.authorised else "")
        .replace("@BODY@", body)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        cpu_before = os.times()
        completed = subprocess.run(
            [
                "wrk",
                "-t",
                str(min(2, concurrency)),
                "-c",
                str(concurrency),
                "-d",
                f"{duration:g}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        cpu_after = os.times()
    finally:
        os.unlink(handle.name)
    match = re.search(r"WRKJSON (\{.*\})", completed.stdout)
    if not match:
        raise SystemExit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(match.group(1))
    data["client_cpu"] = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    data["label"] = target.label
    return data


def wrk_figure(data: dict, cpu: dict[str, float]) -> Figure:
    seconds = data["duration_us"] / 1e6
    ok = data["requests"] - data["non2xx"]
    errors = data["non2xx"] + data["socket_errors"]
    detail = f"non-2xx {data['non2xx']}, socket errors {data['socket_errors']}" if errors else ""
    return Figure(
        data["label"],
        ok / seconds,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
        ok,
        errors,
        detail,
        data["client_cpu"] / seconds,
        cpu["app"] / max(1, ok) * 1000,
        cpu["db"] / max(1, ok) * 1000,
    )


def run_rounds(names, args, *, port, fixture, run_id, meter: CpuMeter) -> dict[str, Figure]:
    """Each endpoint ``rounds`` times, in turn, duration/rounds seconds a time."""
    import loadgen

    rounds = 1 if args.load == "wrk" else args.rounds
    results: dict[str, list] = {name: [] for name in names}
    cpu = {name: {"app": 0.0, "db": 0.0} for name in names}
    for number in range(rounds):
        for name in names:
            runner = run_wrk if args.load == "wrk" else run_python
            before = meter.snapshot()
            results[name].append(
                runner(
                    TARGETS[name],
                    port=port,
                    fixture=fixture,
                    run_id=f"{run_id}-{name}-{number}",
                    concurrency=args.concurrency,
                    duration=args.duration / rounds,
                )
            )
            for kind, seconds in meter.since(before).items():
                cpu[name][kind] += seconds
    if args.load == "wrk":
        return {name: wrk_figure(results[name][0], cpu[name]) for name in names}
    return {name: python_figure(loadgen.merge(results[name]), cpu[name]) for name in names}


def warm_up(names, args, *, port, fixture, run_id) -> None:
    """Every worker imports the hub's URLs and views on its first request and opens
    its database connection: none of that belongs in the figure."""
    for name in names:
        result = run_python(
            TARGETS[name],
            port=port,
            fixture=fixture,
            run_id=f"{run_id}-warm-{name}",
            concurrency=args.concurrency,
            duration=args.warmup,
        )
        if result.errors:
            figure = python_figure(result, {"app": 0.0, "db": 0.0})
            raise SystemExit(f"warm-up of {name}: {result.errors} errors; {figure.detail}")


def line(label: str, figure: Figure, *, errors: bool = True) -> str:
    text = (
        f"{label:<48}{figure.rate:6.0f} req/s  p50 {figure.p50:5.1f} ms  p99 {figure.p99:5.1f} ms"
    )
    if errors or figure.errors:
        text += f"   (errors: {figure.errors})"
    return text


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="the endpoints take turns this many times (python load only; wrk: 1)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2 * cores + 1)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument(
        "--load",
        choices=["python", "wrk"],
        default="python",
        help="load generator (wrk only if installed; else python)",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--keep-rows", action="store_true")
    parser.add_argument(
        "--only",
        choices=sorted(TARGETS),
        action="append",
        help="measure only these endpoints (repeatable)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="instead of the load test: N requests in-process, timed per stage, queries counted",
    )
    parser.add_argument("--cprofile", metavar="FILE", help="with --profile: also save cProfile")
    parser.add_argument(
        "--server-profile",
        metavar="DIR",
        help="each gunicorn worker saves a cProfile (CPU clock) of its requests in DIR",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    port = args.port or free_port()
    var_dir = configure_environment(port)
    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    fixture = make_fixture()
    delete_rows(fixture.tenant)
    purge_queue()
    if args.profile:
        from profile_requests import profile

        try:
            profile(args.profile, fixture, cprofile_path=args.cprofile)
        finally:
            if not args.keep_rows:
                delete_rows(fixture.tenant)
            purge_queue()
        return 0

    notes = []
    if args.load == "wrk" and shutil.which("wrk") is None:
        notes.append("wrk is not installed: used the Python load generator")
        args.load = "python"
    if args.server_profile:
        Path(args.server_profile).mkdir(parents=True, exist_ok=True)
        os.environ["BENCH_CPROFILE_DIR"] = str(Path(args.server_profile).resolve())
        notes.append(f"worker profiles (slower: not a valid figure) in {args.server_profile}")
    other_load = busy_cpus()
    workers = f"{args.workers} {args.worker_class} workers"
    if args.worker_class == "gthread":
        workers += f" x {args.threads} threads"
    server = Server(
        port=port,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        log_path=var_dir / "gunicorn-api-payments.log",
    )
    names = args.only or ["baseline", "hub", "hub-no-key"]
    run_id = "b" + secrets.token_hex(3)
    try:
        server.wait_healthy()
        warm_up(names, args, port=port, fixture=fixture, run_id=run_id)
        figures = run_rounds(
            names, args, port=port, fixture=fixture, run_id=run_id, meter=CpuMeter(server)
        )
    finally:
        server.stop()
        if not args.keep_rows:
            delete_rows(fixture.tenant)
        notes.append(purge_queue())

    rounds = 1 if args.load == "wrk" else args.rounds
    print(
        f"api payments: gunicorn {workers} on PostgreSQL, concurrency {args.concurrency}, "
        f"{args.duration:g} s each ({rounds} round{'s' if rounds > 1 else ''}), load: {args.load}"
    )
    labels = {
        "hub": "hub POST /api/v1/payments:",
        "hub-no-key": "hub POST /api/v1/payments, no Idempotency-Key:",
    }
    for name, label in labels.items():
        if name in figures:
            print(line(label, figures[name]))
    if "baseline" in figures:
        print(line("baseline insert-one-row view:", figures["baseline"], errors=False))
        base = figures["baseline"].rate
        ratios = [
            f"{figures[n].rate / base:.2f} of baseline{suffix}"
            for n, suffix in (("hub", ""), ("hub-no-key", " without Idempotency-Key"))
            if n in figures
        ]
        if ratios:
            print(
                f"ratio: {ratios[0]} (aim, issue 14: >= 0.25)"
                + "".join(f"; {r}" for r in ratios[1:])
            )
    print("server CPU per request (gunicorn worker + its PostgreSQL backend):")
    for name, figure in figures.items():
        print(
            f"  {name:<11} {figure.app_cpu_ms:5.2f} ms app + {figure.db_cpu_ms:5.2f} ms PostgreSQL"
            f"   ({figure.requests} requests; load generator {figure.client_cpu:.2f} cores)"
        )
    if "baseline" in figures and "hub" in figures:
        # What the ratio tends to when the server's CPU is the limit, whatever else runs.
        cpu = {n: f.app_cpu_ms + f.db_cpu_ms for n, f in figures.items()}
        print(f"  CPU ratio: baseline / hub = {cpu['baseline'] / cpu['hub']:.2f}")
    print(
        f"notes: other work kept {other_load:.1f} of {os.cpu_count()} cores busy before the "
        f"run; HUB_API_RATE={os.environ['HUB_API_RATE']}: the throttle runs but never "
        "refuses; " + "; ".join(notes)
    )
    invalid = {n: f for n, f in figures.items() if f.errors}
    for name, figure in invalid.items():
        print(f"INVALID: {name}: {figure.errors} errors: {figure.detail}")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
