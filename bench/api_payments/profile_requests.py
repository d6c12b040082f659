"""Where one ``POST /api/v1/payments`` spends its time (run.py --profile N).

N requests, each with a unique Idempotency-Key, then N without, go through Django's
test client in this process: the same middleware, DRF view, services, PostgreSQL and
Redis as under gunicorn, without the HTTP server, one request at a time. Probes wrap
the functions each stage calls and charge every stage its own time (time spent in a
nested probe is charged to that probe) and the SQL statements it ran, counted with
``CaptureQueriesContext``. What no probe covers (middleware, URL routing, DRF's
dispatch, JSON parsing and rendering, savepoints) is the "framework" remainder.
"""

from __future__ import annotations

import cProfile
import functools
import io
import pstats
import time
from collections import defaultdict

# (label, module or class path, attribute). A class attribute that is a property is
# wrapped as one. Labels group into the stages the performance doc reports. A target
# that does not exist (the code moved on) is skipped and named in the report.
PROBES = [
    ("auth: API-key lookup", "hub.api.auth", "find_api_key"),
    ("auth: last_used_at touch", "hub.api.auth", "touch_api_key"),
    ("throttle (Redis counter)", "hub.api.throttling.ApiKeyRateThrottle", "allow_request"),
    ("permission (scope check)", "hub.api.permissions.HasApiKeyScope", "has_permission"),
    ("idempotency: claim (own transaction)", "hub.idempotency", "claim"),
    ("idempotency: store response", "hub.idempotency", "complete"),
    ("validation (serializer, service lookup)", "payments.api.serializers", "AgencyServiceField"),
    # create_payment calls the name lifecycle imported, so the probe goes there.
    (
        "create_payment: provider account lookup",
        "payments.services.lifecycle",
        "provider_account_for",
    ),
    (
        "provider: sandbox start_payment",
        "payments.providers.sandbox.SandboxProvider",
        "start_payment",
    ),
    ("create_payment: timeline row", "payments.services.transitions", "_timeline"),
    ("outbox: event row", "payments.services.transitions", "publish"),
    # The commit hook that hands the event to Celery (its name has changed over time).
    ("outbox: enqueue dispatch on commit (Redis)", "hub.events.outbox._Batch", "flush"),
    ("outbox: enqueue dispatch on commit (Redis)", "hub.events.outbox", "_enqueue_dispatch"),
    ("create_payment: payment INSERT + UPDATE, rest", "payments.services", "create_payment"),
    ("response serialisation", "payments.api.serializers.PaymentSerializer", "data"),
    ("audit entry", "hub.audit", "record_api_write"),
]
FRAMEWORK = "framework: middleware, routing, DRF, JSON, savepoints"
COMMIT = "COMMIT"


class Probe:
    """Exclusive time and SQL statements per stage; a stack handles nesting."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.stack: list[str] = []
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)
        self.mark = (0.0, 0.0, 0)
        self.missing: list[str] = []

    def _now(self) -> tuple[float, float, int]:
        return time.perf_counter(), time.process_time(), len(self.connection.queries_log)

    def _charge(self, now: tuple[float, float, int]) -> None:
        label = self.stack[-1]
        self.seconds[label] += now[0] - self.mark[0]
        self.cpu[label] += now[1] - self.mark[1]
        self.statements[label] += now[2] - self.mark[2]

    def enter(self, label: str) -> None:
        now = self._now()
        if self.stack:
            self._charge(now)
        self.stack.append(label)
        self.mark = now

    def exit(self) -> None:
        now = self._now()
        self._charge(now)
        self.stack.pop()
        self.mark = now

    def wrap(self, function, label: str):
        probe = self

        @functools.wraps(function)
        def probed(*args, **kwargs):
            probe.enter(label)
            try:
                return function(*args, **kwargs)
            finally:
                probe.exit()

        return probed

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu.clear()
        self.statements.clear()


def install(probe: Probe) -> None:
    import importlib

    from payments.api import serializers

    installed: set[str] = set()
    missing: dict[str, list[str]] = {}
    for label, dotted, attribute in PROBES:
        if attribute == "AgencyServiceField":
            # The serializer's own checks plus the service lookup it makes.
            cls = serializers.PaymentCreateSerializer
            cls.is_valid = probe.wrap(cls.is_valid, label)
            continue
        try:
            owner = importlib.import_module(dotted)
        except ModuleNotFoundError:
            module, _, name = dotted.rpartition(".")
            owner = getattr(importlib.import_module(module), name, None)
        current = None
        if isinstance(owner, type):
            for klass in owner.__mro__:
                if attribute in klass.__dict__:
                    current = klass.__dict__[attribute]
                    break
        elif owner is not None:
            current = getattr(owner, attribute, None)
        if current is None:
            missing.setdefault(label, []).append(f"{dotted}.{attribute}")
            continue
        installed.add(label)
        if isinstance(current, property):
            setattr(owner, attribute, property(probe.wrap(current.fget, label)))
        else:
            setattr(owner, attribute, probe.wrap(current, label))
    probe.missing = [
        name for label, names in missing.items() if label not in installed for name in names
    ]
    # The outermost transaction's COMMIT, wherever it happens.
    probe.connection.commit = probe.wrap(probe.connection.commit, COMMIT)


def _kind(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    return "data" if head in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"} else "control"


def profile(n: int, fixture, *, cprofile_path: str | None = None) -> None:
    from django.db import connections, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from run import payment_body, process_cpu

    connection = connections["default"]
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"Authorization": f"Bearer {fixture.secret}"}

    def post(mode: str, reference: str):
        if mode == "baseline":
            return client.post(
                "/bench/baseline",
                data=payment_body(fixture.service_id, reference),
                content_type="application/json",
            )
        extra = dict(headers)
        if mode == "key":
            extra["Idempotency-Key"] = reference
        return client.post(
            "/api/v1/payments",
            data=payment_body(fixture.service_id, reference),
            content_type="application/json",
            headers=extra,
        )

    for i in range(60):  # warm: imports, URL resolver, connections, the key's last_used_at
        response = post(("key", "no-key", "baseline")[i % 3], f"warm-{i}-{time.time_ns()}")
        assert response.status_code == 201, response.content
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    probe = Probe(connection)
    install(probe)
    profiler = cProfile.Profile(time.process_time) if cprofile_path else None
    for mode in ("key", "no-key", "baseline"):
        probe.reset()
        statements: dict[str, int] = defaultdict(int)
        example: list[str] = []
        started, cpu_started, db_started = time.perf_counter(), time.process_time(), None
        db_started = process_cpu(backend)
        for i in range(n):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                probe.enter(FRAMEWORK)
                if profiler and mode == "key":
                    profiler.enable()
                response = post(mode, f"prof-{mode}-{i}-{time.time_ns()}")
                if profiler and mode == "key":
                    profiler.disable()
                probe.exit()
            assert response.status_code == 201, response.content
            for query in queries.captured_queries:
                statements[_kind(query["sql"])] += 1
            if i == 0:
                example = [q["sql"] for q in queries.captured_queries]
        totals = (
            (time.perf_counter() - started) / n,
            (time.process_time() - cpu_started) / n,
            ((process_cpu(backend) or 0.0) - (db_started or 0.0)) / n,
        )
        _report(n, mode, totals, probe, statements, example)
    if profiler:
        profiler.dump_stats(cprofile_path)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(f"\ncProfile (CPU clock) of the {n} requests with Idempotency-Key: {cprofile_path}")
        print(out.getvalue())


TITLES = {
    "key": "POST /api/v1/payments with a unique Idempotency-Key",
    "no-key": "POST /api/v1/payments without Idempotency-Key",
    "baseline": "POST /bench/baseline (the baseline view)",
}


def _report(n, mode, totals, probe, statements, example) -> None:
    wall, cpu, db_cpu = (value * 1000 for value in totals)
    data, control = statements["data"] / n, statements["control"] / n
    print(f"\n{TITLES[mode]}: {n} requests in-process, PostgreSQL + Redis")
    print(
        f"  {wall:.2f} ms per request, {cpu:.2f} ms CPU in this process, "
        f"{db_cpu:.2f} ms CPU in its PostgreSQL backend"
    )
    print(
        f"  SQL statements per request: {data + control:.1f} "
        f"({data:.1f} SELECT/INSERT/UPDATE, {control:.1f} BEGIN/SAVEPOINT/RELEASE/COMMIT)"
    )
    if mode != "baseline":
        print(f"  {'stage':<52}{'wall':>8}{'CPU':>9}{'share':>7}  statements")
        measured = sum(probe.seconds.values())
        for label in sorted(probe.seconds, key=lambda label: -probe.seconds[label]):
            print(
                f"  {label:<52}{probe.seconds[label] / n * 1000:5.2f} ms"
                f"{probe.cpu[label] / n * 1000:6.2f} ms"
                f"{probe.seconds[label] / measured * 100:6.0f} %"
                f"{probe.statements[label] / n:6.1f}"
            )
    if probe.missing and mode != "baseline":
        print(f"  (no such function to probe: {', '.join(probe.missing)})")
    print("  statements of one request:")
    for sql in example:
        print("    " + " ".join(sql.split())[:140])
