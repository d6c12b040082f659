"""Webhook fan-out: 1,000 events to 10 local receivers through one Celery worker.

    .venv/bin/python bench/webhook_fanout/run.py                    # threads x8 (reported)
    .venv/bin/python bench/webhook_fanout/run.py --worker prefork:1 --worker threads:8
    .venv/bin/python bench/webhook_fanout/run.py --profile 1000     # where a delivery's time goes

Measures the hub's real path: ``outbox.publish`` in the publishing transaction → commit
hook → Redis → ONE Celery worker process runs the dispatch tasks (``hub.dispatch_events``,
a chunk of 10 events each; 10 deliveries created per event), each of which sends its
100 deliveries as one batch (lease claim, Standard Webhooks signature, concurrent POSTs
over kept-alive connections per receiver, attempts recorded in bulk) → a receiver
verifies the signature.
The clock runs from the first publish to the 10,000th verified receipt. Beside it, in
the same run and against the same receivers, the baseline: the same number of POSTs
with the same body size, each signed (HMAC-SHA256, Standard Webhooks) when it is sent,
from one Python process over a keep-alive ``requests.Session``, one after another.

Like production it runs on PostgreSQL and Redis; the environment below is set unless
already set (DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, HUB_VAR_DIR, ...), and the
database is created and migrated if needed. DEBUG is off, as in production (with
DEBUG on, Django records every query and Celery warns about the leak); the keys
DEBUG=0 requires are generated once into $HUB_VAR_DIR. The bench tenant's events,
deliveries and endpoints are deleted before and after the run (--keep-rows keeps them).
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # bench_common

from bench_common import busy_cpus, ensure_database, use_stable_secrets  # noqa: E402

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "hub.settings",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hub_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/7",
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "HUB_VAR_DIR": "/tmp/hub-bench",
    "HUB_WEBHOOKS_ALLOW_PRIVATE": "1",
    "DEBUG": "0",
    "LOG_LEVEL": "WARNING",
}
TENANT_SLUG = "bench-webhook-fanout"
EVENT_TYPE = "bench.fanout"
WAIT_LIMIT = 150.0  # seconds to wait for the deliveries before giving up


def configure_environment() -> Path:
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    var_dir = Path(os.environ["HUB_VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    if os.environ["DEBUG"].strip().lower() not in {"1", "true", "yes", "on"}:
        use_stable_secrets(var_dir / "bench-webhook-fanout-keys.json")
    for path in (str(REPO), str(HERE)):
        if path not in sys.path:
            sys.path.insert(0, path)
    return var_dir


def exclusive_run():
    """Refuse to start while another run uses the same database and broker.

    Two runs would purge each other's queue, delete each other's rows, and their
    workers would take each other's tasks. Returns the open lock file: keep it.
    """
    import fcntl
    import tempfile

    key = hashlib.sha256(
        f"{os.environ['DATABASE_URL']} {os.environ['CELERY_BROKER_URL']}".encode()
    ).hexdigest()[:12]
    lock = open(Path(tempfile.gettempdir()) / f"bench-webhook-fanout-{key}.lock", "w")  # noqa: SIM115
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(
            "another webhook fan-out run is using this DATABASE_URL and CELERY_BROKER_URL; "
            "wait for it to finish, or point this one at another database and Redis db"
        )
    return lock


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


# --------------------------------------------------------------------------- fixtures


def bench_tenant():
    from tenants.models import Tenant

    tenant, _ = Tenant.objects.get_or_create(
        slug=TENANT_SLUG, defaults={"name": "Webhook fan-out benchmark"}
    )
    return tenant


def delete_rows(tenant, *, endpoints: bool) -> None:
    """Events, deliveries and attempts of the bench tenant (leaf tables first)."""
    from hub.events.models import (
        Event,
        SubscriberReceipt,
        WebhookAttempt,
        WebhookDelivery,
        WebhookEndpoint,
    )
    from tenants.scope import all_tenants

    # The benchmark driver runs outside any request or job: it clears its own
    # agency's rows directly.
    with all_tenants():
        WebhookAttempt.objects.filter(delivery__tenant=tenant)._raw_delete("default")
        SubscriberReceipt.objects.filter(event__tenant=tenant)._raw_delete("default")
        WebhookDelivery.objects.filter(tenant=tenant)._raw_delete("default")
        Event.objects.filter(tenant=tenant)._raw_delete("default")
        if endpoints:
            WebhookEndpoint.objects.filter(tenant=tenant)._raw_delete("default")


def create_endpoints(tenant, receivers) -> None:
    from hub.events.endpoints import create_endpoint

    for number, receiver in enumerate(receivers, 1):
        created = create_endpoint(
            tenant=tenant,
            url=receiver.url,
            event_types=[EVENT_TYPE],
            description=f"fan-out bench receiver {number}",
        )
        receiver.set_secret(created.secret)


def payload(n: int) -> dict:
    # About what a payment event carries: ~300-byte bodies.
    return {
        "payment": f"pay_{n:024d}",
        "amount_minor": 1000 + n,
        "currency": "EUR",
        "status": "succeeded",
        "reference": f"INV-2024-{n:06d}",
        "service": "svc_vehicle_tax",
        "paid_at": "2024-03-01T12:00:00Z",
    }


# --------------------------------------------------------------------------- timing


class CpuMeter:
    """CPU seconds per role over an interval, from /proc (Linux; silent elsewhere).

    Roles: the worker (with its reaped prefork children), the receivers, this process,
    PostgreSQL for our database, Redis, and the rest of the machine (total busy time
    minus all of those). Most of our PostgreSQL time is spent in backends that exit
    before the interval ends (Celery closes the connection after each task); the
    postmaster's reaped-children counter holds it, mixed with other databases'
    backends. A thread polls the backends four times a second, so the ones seen
    serving another database (or running before we started) are taken out again;
    what it misses (other databases' connections shorter than 0.25 s) stays in.
    """

    def __init__(self, worker_pid: int | None, receiver_pids: list[int], database: str) -> None:
        self.roles = {
            "worker": [worker_pid] if worker_pid else [],
            "receivers": receiver_pids,
            "bench": [os.getpid()],
        }
        self.database = database
        self.seen: dict[int, tuple[str, int]] = {}  # backend pid -> (database, ticks)
        self.start = self._sample()
        self._stopped = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stopped.wait(0.25):
            self._sample()

    @staticmethod
    def _processes():
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    raw = f.read()
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            # utime stime cutime cstime: a process's own time and its reaped children's
            yield int(name), int(fields[1]), cmdline, [int(v) for v in fields[11:15]]

    def _sample(self) -> dict | None:
        try:
            processes = list(self._processes())
            with open("/proc/stat") as f:
                values = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        by_role = {pid: role for role, pids in self.roles.items() for pid in pids}
        postmasters = {
            pid for pid, _, cmd, _ in processes if " -D " in cmd and "postgres" in cmd.split()[0]
        }
        totals = dict.fromkeys(["worker", "receivers", "bench", "redis", "pg_ours", "pg_reaped"], 0)
        backends = {}
        for pid, ppid, cmdline, (utime, stime, cutime, cstime) in processes:
            role = by_role.get(pid) or ("worker" if by_role.get(ppid) == "worker" else None)
            if role:
                totals[role] += utime + stime + cutime + cstime
            elif pid in postmasters:
                totals["pg_ours"] += utime + stime  # forking backends for connections
                totals["pg_reaped"] += cutime + cstime
            elif ppid in postmasters:
                words = cmdline.split()
                database = words[3] if len(words) > 4 else ""
                backends[pid] = (database, utime + stime)
                if database == self.database:
                    totals["pg_ours"] += utime + stime
            elif cmdline.startswith("redis-server"):
                totals["redis"] += utime + stime
        self.seen.update(backends)
        totals["live"] = set(backends)
        totals["busy"] = sum(values) - values[3] - values[4]  # all but idle and iowait
        totals["clock"] = time.monotonic()
        return totals

    def stop(self) -> dict[str, float]:
        """CPU seconds used per role since the start, plus "elapsed" (wall seconds)."""
        self._stopped.set()
        self._poller.join()
        end = self._sample()
        if not self.start or not end:
            return {}
        # Backends reaped since the start are in pg_reaped with all their time; take
        # out other databases' (as last seen). Ours alive at the start were counted
        # in the starting pg_ours, so the difference already leaves out their past.
        not_ours = sum(
            ticks
            for pid, (database, ticks) in self.seen.items()
            if pid not in end["live"] and database != self.database
        )
        hz = os.sysconf("SC_CLK_TCK")
        delta = {k: (end[k] - self.start[k]) for k in self.start if k not in ("live", "clock")}
        used = {k: delta[k] / hz for k in ("worker", "receivers", "bench", "redis")}
        used["postgres"] = max(0, delta["pg_ours"] + delta["pg_reaped"] - not_ours) / hz
        used["other"] = max(0.0, delta["busy"] / hz - sum(used.values()))
        used["elapsed"] = end["clock"] - self.start["clock"]
        return used


def database_sessions() -> int | None:
    """PostgreSQL connections ever opened to our database (pg_stat_database, PG 14+)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    return row[0] if row else None


def describe_cpu(used: dict[str, float], deliveries: int) -> list[str]:
    if not used or not deliveries:
        return []
    roles = ("worker", "postgres", "receivers", "bench", "redis", "other")
    return [
        f"CPUs busy during the run (of {os.cpu_count()}): "
        + ", ".join(f"{k} {used[k] / used['elapsed']:.2f}" for k in roles),
        "CPU time per delivery: "
        + ", ".join(f"{k} {1000 * used[k] / deliveries:.2f} ms" for k in roles[:5]),
    ]


def wait_for(receivers, target: int, limit: float = WAIT_LIMIT) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if sum(r.verified for r in receivers) >= target:
            return True
        time.sleep(0.01)  # receipt times come from the receivers, not from this loop
    return False


def wait_settled(tenant, limit: float = 30.0) -> None:
    """Wait until the worker has recorded every attempt (it does so after the reply)."""
    from hub.events.models import Event, WebhookDelivery
    from tenants.scope import all_tenants

    deadline = time.monotonic() + limit
    # The benchmark driver, outside any request or job, polls its own agency's rows.
    with all_tenants():
        while time.monotonic() < deadline:
            undispatched = Event.objects.filter(tenant=tenant, dispatched_at__isnull=True)
            pending = WebhookDelivery.objects.filter(
                tenant=tenant, status=WebhookDelivery.Status.PENDING
            )
            if not undispatched.exists() and not pending.exists():
                return
            time.sleep(0.05)


def receipts_for(receivers, ids: set[str]) -> list[tuple[str, float]]:
    out = []
    for receiver in receivers:
        out.extend(item for item in receiver.report().receipts if item[0] in ids)
    return out


def connections(receivers) -> int:
    return sum(r.report().connections for r in receivers)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    label: str
    deliveries: int
    seconds: float
    connections: int = 0
    latencies: list[float] = field(default_factory=list)
    idle_latencies: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


# --------------------------------------------------------------------------- baseline


def envelope(event_type: str, tenant_slug: str, data: dict) -> tuple[str, bytes]:
    """A message id and the body the hub would send, in the hub's shape."""
    message_id = "evt_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()
    body = json.dumps(
        {
            "id": message_id,
            "type": event_type,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "tenant": tenant_slug,
            "data": data,
        },
        separators=(",", ":"),
    ).encode()
    return message_id, body


def signed_post(session, url: str, key: bytes, message_id: str, body: bytes):
    """One POST signed as Standard Webhooks asks, signature computed when sent."""
    timestamp = int(time.time())
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return session.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        },
        timeout=(3.0, 5.0),
    )


def run_baseline(receivers, events: int, tenant_slug: str) -> Result:
    """Plain signed POSTs from this process, one after another, over keep-alive."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "bench-baseline/1.0"
    keys = [base64.b64decode(r.secret.removeprefix("whsec_")) for r in receivers]
    before_connections = connections(receivers)
    before = sum(r.verified for r in receivers)
    ok = 0
    meter = CpuMeter(None, [r.process.pid for r in receivers], "-")
    started = time.perf_counter()
    for n in range(events):
        message_id, body = envelope(EVENT_TYPE, tenant_slug, payload(n))
        for receiver, key in zip(receivers, keys, strict=True):
            response = signed_post(session, receiver.url, key, message_id, body)
            response.content  # noqa: B018  (read the reply, as the hub does)
            ok += response.status_code == 200
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    session.close()
    verified = sum(r.verified for r in receivers) - before
    result = Result("baseline", ok, seconds, connections(receivers) - before_connections)
    if verified != events * len(receivers) or ok != verified:
        raise RuntimeError(f"baseline: {ok} OK replies, {verified} verified receipts")
    if cpu:
        result.notes.append(
            f"CPU time per delivery: sender (this process) {1000 * cpu['bench'] / ok:.2f} ms, "
            f"receivers {1000 * cpu['receivers'] / ok:.2f} ms; "
            f"other processes kept {cpu['other'] / cpu['elapsed']:.2f} CPUs busy"
        )
    return result


# --------------------------------------------------------------------------- the hub


class Worker:
    """One Celery worker process, started like production starts it."""

    def __init__(
        self,
        pool: str,
        concurrency: int,
        log_path: Path,
        db_reuse: int | None = None,
        cprofile: str = "",
    ) -> None:
        self.pool, self.concurrency, self.db_reuse = pool, concurrency, db_reuse
        self.name = f"bench-fanout-{os.getpid()}@{socket.gethostname()}"
        self.log = log_path.open("a")
        self.log.write(f"\n--- {datetime.now(UTC).isoformat()} {pool} x{concurrency}\n")
        self.log.flush()
        # cProfile sees the main thread only: use it with the solo pool, which runs
        # the tasks there (prefork children and pool threads are not profiled).
        profiler = ["-m", "cProfile", "-o", cprofile] if cprofile else []
        command = [
            sys.executable,
            *profiler,
            "-m",
            "celery",
            "-A",
            "hub",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--hostname",
            self.name,
            "--without-gossip",  # no other workers to gossip with; saves start-up time
            "--without-mingle",
        ]
        env = os.environ.copy()
        if db_reuse is not None:
            env["CELERY_DB_REUSE_MAX"] = str(db_reuse)
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def label(self) -> str:
        reuse = f", CELERY_DB_REUSE_MAX={self.db_reuse}" if self.db_reuse is not None else ""
        return f"{self.pool} x{self.concurrency}{reuse}"

    def wait_ready(self, limit: float = 60.0) -> None:
        from hub.celery import app

        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}; see {self.log.name}"
                )
            if app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker did not answer a ping in {limit:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def publish_events(tenant, count: int, batch: int, first: int = 0) -> dict[str, float]:
    """Publish ``count`` events, ``batch`` per transaction; returns id → publish time."""
    from django.db import transaction

    from hub.events.outbox import publish

    published: dict[str, float] = {}
    for start in range(first, first + count, batch):
        with transaction.atomic():
            for n in range(start, min(start + batch, first + count)):
                at = time.monotonic()
                event = publish(
                    tenant=tenant, type=EVENT_TYPE, subject_id=f"pay_{n}", payload=payload(n)
                )
                published[event.pk] = at
    return published


def run_hub(worker: Worker, tenant, receivers, events: int, batch: int, idle: int) -> Result:
    from django.db.models import Count, Max, Min

    from hub.events.models import Event, WebhookAttempt, WebhookDelivery
    from tenants.scope import all_tenants

    fanout = len(receivers)
    # Idle latency (and warm-up): one event at a time, each waited for.
    idle_latencies: list[float] = []
    for n in range(idle):
        target = sum(r.verified for r in receivers) + fanout
        published = publish_events(tenant, 1, 1, first=1_000_000 + n)
        if not wait_for(receivers, target, 30):
            raise RuntimeError("warm-up event was not delivered; see the worker log")
        idle_latencies += [t - published[i] for i, t in receipts_for(receivers, set(published))]
    wait_settled(tenant)
    delete_rows(tenant, endpoints=False)

    before_connections = connections(receivers)
    target = sum(r.verified for r in receivers) + events * fanout
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]
    meter = CpuMeter(worker.process.pid, [r.process.pid for r in receivers], database)
    sessions_before = database_sessions()
    wall_start = datetime.now(UTC)
    started = time.monotonic()
    published = publish_events(tenant, events, batch)
    publish_seconds = time.monotonic() - started
    complete = wait_for(receivers, target)
    cpu = meter.stop()
    receipts = receipts_for(receivers, set(published))
    finished = max(t for _, t in receipts) if receipts else time.monotonic()
    result = Result(
        worker.label,
        len(receipts),
        finished - started,
        connections(receivers) - before_connections,
        latencies=[t - published[i] for i, t in receipts],
        idle_latencies=idle_latencies,
    )
    result.notes += describe_cpu(cpu, len(receipts))
    wait_settled(tenant)
    time.sleep(1.5)  # backends report their session to the statistics with a delay
    sessions_after = database_sessions()
    if sessions_before is not None and sessions_after is not None:
        result.notes.append(
            f"PostgreSQL connections opened during the run: {sessions_after - sessions_before} "
            f"(the worker ran the dispatch tasks for {events} events, which sent the "
            f"{len(receipts)} deliveries)"
        )
    if not complete:
        result.notes.append(f"only {len(receipts)} of {events * fanout} verified in time")

    # The benchmark driver, outside any request or job, reads its own agency's rows.
    with all_tenants():
        dispatched = Event.objects.filter(tenant=tenant).aggregate(
            first=Min("dispatched_at"), last=Max("dispatched_at")
        )
        statuses = dict(
            WebhookDelivery.objects.filter(tenant=tenant)
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        attempts = WebhookAttempt.objects.filter(delivery__tenant=tenant).count()
    if dispatched["last"]:
        result.notes.append(
            f"publish took {publish_seconds:.2f} s; the worker finished dispatching "
            f"({fanout} deliveries per event) at {(dispatched['last'] - wall_start).total_seconds():.2f} s"
        )
    result.notes.append(f"deliveries by status {statuses}, {attempts} attempt rows")
    check_hub_run(receivers, published, fanout, statuses, attempts)
    return result


def check_hub_run(receivers, published, fanout: int, statuses: dict, attempts: int) -> None:
    """Fail loudly when the work was wrong, whatever the speed: every delivery verified
    by its receiver exactly once, none rejected, every row succeeded on its first try."""
    expected = len(published) * fanout
    problems = []
    rejected = sum(r.report().rejected for r in receivers)
    if rejected:
        problems.append(f"{rejected} requests failed signature verification")
    for number, receiver in enumerate(receivers, 1):
        ids = [i for i, _ in receiver.report().receipts if i in published]
        if len(ids) != len(published) or len(set(ids)) != len(published):
            problems.append(
                f"receiver {number}: {len(set(ids))} of {len(published)} events verified, "
                f"{len(ids) - len(set(ids))} twice"
            )
    if statuses != {"succeeded": expected}:
        problems.append(f"deliveries by status {statuses}, expected {expected} succeeded")
    if attempts != expected:
        problems.append(f"{attempts} attempt rows for {expected} deliveries")
    if problems:
        raise RuntimeError("the hub's fan-out was wrong: " + "; ".join(problems))


# --------------------------------------------------------------------------- profile


def run_profile(tenant, receivers, deliveries: int, functions: int) -> None:
    """Dispatch and deliver in this process, no Celery: where a delivery's time goes.

    On one warm database connection: the dispatch of the events in chunks (as the
    dispatch task does, without sending), then the batches of ``delivery.send_due``
    (claim, send concurrently, record in bulk) until nothing is due. First without a
    profiler (phase timings and the SQL statements each phase sends), then, with
    ``functions`` > 0, the same again under cProfile, listing that many functions by own
    time (the calling thread only: the sending threads are not profiled).
    """
    import cProfile
    import pstats
    from collections import Counter

    from django.db import connection

    from hub.celery import app
    from hub.events import delivery, dispatch

    events = max(1, deliveries // len(receivers))
    statements: Counter[str] = Counter()
    phases: Counter[str] = Counter()

    def count(execute, sql, params, many, context):
        words = sql.split()
        after = {"SELECT": "FROM", "INSERT": "INTO", "DELETE": "FROM"}
        marker = after.get(words[0])
        name = words[0]
        if words[0] == "UPDATE":
            name += " " + words[1].strip('"')
        elif marker in words[1:]:
            name += " " + words[words.index(marker, 1) + 1].strip('"')
        if words.count("JOIN"):
            name += f" (+{words.count('JOIN')} joined)"
        if "FOR UPDATE" in sql:
            name += " FOR UPDATE"
        statements[name] += 1
        at = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            phases["SQL (execute only; BEGIN/COMMIT not seen)"] += time.perf_counter() - at

    def timed(name, function):
        def wrapper(*args, **kwargs):
            at = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - at

        return wrapper

    def report(label: str, items: int, seconds: float) -> None:
        print(f"\n{label}: {items} in {seconds:.2f} s = {1000 * seconds / items:.3f} ms each")
        for name, value in phases.items():
            print(f"  {1000 * value / items:7.3f} ms  {name}")
        for name, n in statements.most_common():
            print(f"  {n / items:7.3f} x   {name}")

    def measure(label: str, function, items: int, profile: bool) -> None:
        statements.clear()
        phases.clear()
        profiler = cProfile.Profile() if profile else None
        with connection.execute_wrapper(count):
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            function()
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            phases["CPU of this process, all threads"] = time.process_time() - cpu
        app.control.purge()  # tasks the code queued: no worker runs here
        if profiler:
            print(f"\n{label} under cProfile: {1000 * seconds / items:.3f} ms each")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(functions)
        else:
            report(label, items, seconds)

    def dispatch_all(ids: list[str]) -> None:
        for start in range(0, len(ids), 10):
            dispatch.dispatch_events(ids[start : start + 10])

    def deliver_all() -> None:
        while delivery.send_due():
            pass

    original = {name: getattr(delivery, name) for name in ("claim_due", "_load", "_record", "post")}
    delivery.post = timed("POST, summed over the sending threads", original["post"])
    delivery.claim_due = timed("claim (UPDATE … RETURNING)", original["claim_due"])
    delivery._load = timed("load (deliveries + events, endpoints)", original["_load"])
    delivery._record = timed("record (INSERT attempts, UPDATE deliveries)", original["_record"])
    original_hand_over = dispatch._hand_over
    dispatch._hand_over = lambda ids: None  # this process delivers them itself
    try:
        for profile in (False, True) if functions else (False,):
            published = list(publish_events(tenant, events, 100))
            app.control.purge()  # the commit hooks queued dispatch tasks
            measure(
                "dispatch (chunks of 10 events), per event",
                functools.partial(dispatch_all, published),
                len(published),
                profile,
            )
            before = sum(r.verified for r in receivers)
            made = events * len(receivers)
            measure("send_due batches, per delivery", deliver_all, made, profile)
            verified = sum(r.verified for r in receivers) - before
            if verified != made:
                raise RuntimeError(f"{verified} of {made} deliveries verified by the receivers")
            delete_rows(tenant, endpoints=False)
    finally:
        for name, function in original.items():
            setattr(delivery, name, function)
        dispatch._hand_over = original_hand_over


# --------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def print_report(
    args, baseline: Result | None, hubs: list[Result], body_bytes: int, other_busy: float
) -> None:
    deliveries = args.events * args.endpoints
    labels = ", ".join(h.label for h in hubs)
    print(
        f"\nwebhook fan-out: {args.events} events x {args.endpoints} endpoints = "
        f"{deliveries} deliveries, 1 worker ({labels}), PostgreSQL + Redis, "
        f"{body_bytes}-byte bodies"
    )
    for hub in hubs:
        name = "hub (outbox → worker → signed POST)"
        if len(hubs) > 1:
            name = f"hub, {hub.label}"
        print(f"{name + ':':<39} {hub.rate:5.0f} deliveries/s   ({hub.seconds:.2f} s)")
    if baseline is not None:
        print(
            f"{'baseline (plain signed POSTs, 1 proc):':<39} "
            f"{baseline.rate:5.0f} deliveries/s   ({baseline.seconds:.2f} s)"
        )
        for hub in hubs:
            suffix = f"  [{hub.label}]" if len(hubs) > 1 else ""
            print(f"ratio: {hub.rate / baseline.rate:.2f} of baseline{suffix}")
    print()
    for hub in hubs:
        if hub.latencies:
            print(
                f"latency publish → verified receipt [{hub.label}], {args.events}-event burst: "
                f"p50 {ms(percentile(hub.latencies, 0.5))}, "
                f"p99 {ms(percentile(hub.latencies, 0.99))}"
            )
        if hub.idle_latencies:
            print(
                f"latency publish → verified receipt [{hub.label}], one event at a time: "
                f"p50 {ms(percentile(hub.idle_latencies, 0.5))}, "
                f"p99 {ms(percentile(hub.idle_latencies, 0.99))} "
                f"({len(hub.idle_latencies)} deliveries)"
            )
        print(f"TCP connections opened by the hub [{hub.label}]: {hub.connections}")
        for note in hub.notes:
            print(f"  {note}")
    print(f"other processes kept {other_busy:.1f} CPUs busy just before the run")
    if baseline is not None:
        print(f"TCP connections opened by the baseline: {baseline.connections}")
        for note in baseline.notes:
            print(f"  {note}")


def parse_worker(value: str) -> tuple[str, int]:
    pool, _, concurrency = value.partition(":")
    if pool not in {"prefork", "threads", "solo"}:
        raise argparse.ArgumentTypeError("pool is prefork, threads or solo")
    return pool, int(concurrency or 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument(
        "--worker",
        type=parse_worker,
        action="append",
        metavar="POOL:N",
        help="worker pool and concurrency, e.g. threads:8 or prefork:1 (repeatable); "
        "default threads:8",
    )
    parser.add_argument("--batch", type=int, default=100, help="events per publishing transaction")
    parser.add_argument("--idle", type=int, default=10, help="events sent one at a time first")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead: dispatch and deliver N deliveries in this process (no Celery), "
        "timing each phase and counting SQL statements",
    )
    parser.add_argument(
        "--profile-functions",
        type=int,
        default=0,
        metavar="K",
        help="with --profile: then profile again under cProfile and list the top K functions",
    )
    parser.add_argument(
        "--db-reuse",
        type=int,
        default=None,
        metavar="N",
        help="start the worker with CELERY_DB_REUSE_MAX=N instead of the hub's setting "
        "(0: a new database connection for every task, as before the setting)",
    )
    parser.add_argument(
        "--worker-cprofile",
        metavar="FILE",
        default="",
        help="run the worker under cProfile, stats to FILE (use with --worker solo:1)",
    )
    parser.add_argument("--keep-rows", action="store_true", help="leave the run's rows in place")
    args = parser.parse_args()
    workers = args.worker or [("threads", 8)]

    var_dir = configure_environment()
    from receivers import start_receivers

    lock = exclusive_run()  # noqa: F841  (held until the process exits)
    # Fork the receivers before Django opens connections or anything starts threads.
    receivers = start_receivers(args.endpoints)
    running: Worker | None = None
    tenant = None
    try:
        ensure_database(os.environ["DATABASE_URL"])
        setup_django()
        from hub.celery import app
        from hub.events.catalogue import register_event_type

        register_event_type(EVENT_TYPE, "Webhook fan-out benchmark", read_scope="payments:read")
        tenant = bench_tenant()
        delete_rows(tenant, endpoints=True)
        create_endpoints(tenant, receivers)
        app.control.purge()

        if args.profile:
            run_profile(tenant, receivers, args.profile, args.profile_functions)
            return 0

        body_bytes = len(
            json.dumps(
                {
                    "id": "evt_" + "x" * 24,
                    "type": EVENT_TYPE,
                    "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "tenant": TENANT_SLUG,
                    "data": payload(args.events // 2),
                },
                separators=(",", ":"),
            )
        )
        other = busy_cpus()
        print(
            f"before the run, other processes kept {other:.1f} of {os.cpu_count()} CPUs busy"
            + (" -- figures will be low and noisy" if other > 0.3 else ""),
            flush=True,
        )
        baseline = None
        if not args.no_baseline:
            print("baseline: plain signed POSTs ...", flush=True)
            baseline = run_baseline(receivers, args.events, TENANT_SLUG)
        hubs = []
        for pool, concurrency in workers:
            app.control.purge()
            running = Worker(
                pool,
                concurrency,
                var_dir / "bench-webhook-fanout-worker.log",
                args.db_reuse,
                args.worker_cprofile,
            )
            print(f"hub: one worker, {running.label} ...", flush=True)
            running.wait_ready()
            hubs.append(run_hub(running, tenant, receivers, args.events, args.batch, args.idle))
            running.stop()
            running = None
            delete_rows(tenant, endpoints=False)
        print_report(args, baseline, hubs, body_bytes, other)
        return 0
    finally:
        if running is not None:
            running.stop()
        for receiver in receivers:
            receiver.stop()
        if tenant is not None:
            try:
                from hub.celery import app

                app.control.purge()
                if not args.keep_rows:
                    delete_rows(tenant, endpoints=True)
            except Exception as exc:  # cleanup must not hide the real error
                print(f"cleanup failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
