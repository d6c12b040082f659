"""Batch delivery: claims that never overlap, and the same outcomes as one at a time.

Real local receivers (they verify every request with the ``standardwebhooks`` package)
and the real database; only the clock is fixed, so the retry times can be compared.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from hub.events import delivery, destinations, endpoints
from hub.events.catalogue import register_event_type
from hub.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenants.scope import all_tenants
from tests.support.concurrency import in_background

BATCH_EVENT = register_event_type(
    "test.batch", "Used by the batch tests", read_scope="payments:read"
)
SCHEDULE = delivery.DEFAULT_RETRY_SCHEDULE


def endpoint_for(tenant, receiver=None, *, url=None) -> WebhookEndpoint:
    created = endpoints.create_endpoint(
        tenant=tenant, url=url or receiver.url, event_types=["test.*"]
    )
    if receiver is not None:
        receiver.secret = created.secret
    return created.endpoint


def pending_deliveries(tenant, endpoint_list, count: int) -> list[WebhookDelivery]:
    """``count`` events, each with a due delivery per endpoint: what dispatch leaves."""
    now = timezone.now()
    with all_tenants():
        events = Event.objects.bulk_create(
            Event(
                tenant=tenant,
                type=BATCH_EVENT,
                subject_id=f"s{n}",
                payload={"n": n},
                created_at=now + timedelta(microseconds=n),
                dispatched_at=now,
            )
            for n in range(count)
        )
        return WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                tenant=tenant,
                event=event,
                endpoint=endpoint,
                created_at=now + timedelta(microseconds=n),
                next_attempt_at=now,
            )
            for n, (event, endpoint) in enumerate(
                (event, endpoint) for event in events for endpoint in endpoint_list
            )
        )


def state(item: WebhookDelivery) -> WebhookDelivery:
    with all_tenants():
        return WebhookDelivery.objects.get(pk=item.pk)


def attempts_of(item: WebhookDelivery) -> list[WebhookAttempt]:
    with all_tenants():
        return list(WebhookAttempt.objects.filter(delivery=item).order_by("number"))


def failures_of(endpoint: WebhookEndpoint) -> int:
    with all_tenants():
        return WebhookEndpoint.objects.get(pk=endpoint.pk).consecutive_failures


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claimers_at_once_never_send_one_delivery_twice(tenant, receivers):
    # Three agency systems that take a moment to answer, so both claimers are sending
    # at the same time for most of the run.
    slow = [receivers(delay=0.01) for _ in range(3)]
    items = pending_deliveries(tenant, [endpoint_for(tenant, r) for r in slow], 40)
    start = threading.Barrier(2)
    spans: dict[str, tuple[float, float]] = {}

    def claimer(name: str):
        def run() -> list[str]:
            sent: list[str] = []
            start.wait()
            began = time.monotonic()
            # Small batches, so the two claimers keep coming back for more.
            while batch := delivery.send_due(limit=7):
                sent += [attempt.delivery_id for attempt in batch]
            spans[name] = (began, time.monotonic())
            return sent

        return run

    first, first_outcome = in_background(claimer("first"))
    second, second_outcome = in_background(claimer("second"))
    first.join(60)
    second.join(60)
    assert "error" not in first_outcome and "error" not in second_outcome
    by_first, by_second = first_outcome["result"], second_outcome["result"]

    # Both worked, at the same time, on disjoint deliveries that cover all of them.
    assert by_first and by_second
    assert max(s for s, _ in spans.values()) < min(e for _, e in spans.values())
    assert not set(by_first) & set(by_second)
    assert sorted(by_first + by_second) == sorted(item.pk for item in items)
    # Each receiver got each event exactly once, every one signed correctly.
    for receiver in slow:
        ids = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(ids) == 40 and set(ids.values()) == {1}
        assert len(receiver.verified()) == 40
    with all_tenants():
        assert Counter(WebhookDelivery.objects.values_list("status", flat=True)) == {
            "succeeded": 120
        }
        assert WebhookAttempt.objects.count() == 120


@pytest.mark.django_db
def test_one_batch_records_what_one_delivery_at_a_time_recorded(
    tenant, receivers, settings, monkeypatch
):
    healthy, failing = receivers(), receivers(fail_first=1)
    listener = socket.socket()  # accepts the connection, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    monkeypatch.setattr(delivery, "READ_TIMEOUT", 0.5)
    ok_endpoint = endpoint_for(tenant, healthy)
    failing_endpoint = endpoint_for(tenant, failing)
    silent_endpoint = endpoint_for(tenant, url=f"http://127.0.0.1:{listener.getsockname()[1]}/h")
    internal_endpoint = endpoint_for(tenant, url="http://10.0.0.8/hook")
    ok, fails, silent, internal = pending_deliveries(
        tenant, [ok_endpoint, failing_endpoint, silent_endpoint, internal_endpoint], 1
    )
    # Production rules, with the local receivers counted as public: 10.0.0.8 is not.
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(destinations, "_internal", lambda address: address != "127.0.0.1")
    now = timezone.now()

    attempts = delivery.send_due(now=now)

    assert sorted(a.delivery_id for a in attempts) == sorted(
        i.pk for i in (ok, fails, silent, internal)
    )
    # Success: done, one attempt with the reply's excerpt, the endpoint untouched.
    assert state(ok).status == "succeeded" and state(ok).completed_at == now
    [attempt] = attempts_of(ok)
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_excerpt == "ok" and attempt.attempted_at == now
    assert failures_of(ok_endpoint) == 0
    # 5xx: pending again after the first step of the schedule, the endpoint counts it.
    assert (state(fails).status, state(fails).attempt_count) == ("pending", 1)
    assert state(fails).next_attempt_at == now + timedelta(seconds=SCHEDULE[0])
    assert [a.status_code for a in attempts_of(fails)] == [500]
    assert failures_of(failing_endpoint) == 1
    # Timeout: no status, the error says so, retried like a 5xx.
    [timed_out] = attempts_of(silent)
    assert timed_out.status_code is None and "Timeout" in timed_out.error
    assert state(silent).next_attempt_at == now + timedelta(seconds=SCHEDULE[0])
    # SSRF: refused before any connection, and counted as a failed attempt.
    [refused] = attempts_of(internal)
    assert refused.error.startswith("refused:") and not refused.succeeded
    assert state(internal).status == "pending" and failures_of(internal_endpoint) == 1
    assert len(healthy.verified()) == 1 and len(failing.received) == 1

    # The back-off: nothing is due a second early; on time the 5xx one succeeds.
    later = now + timedelta(seconds=SCHEDULE[0])
    assert delivery.send_due(now=later - timedelta(seconds=1)) == []
    delivery.send_due(now=later)
    assert state(fails).status == "succeeded"
    assert [a.status_code for a in attempts_of(fails)] == [500, 200]
    assert failures_of(failing_endpoint) == 0  # a success clears the count
    assert [len(attempts_of(i)) for i in (ok, silent, internal)] == [1, 2, 2]
    assert len(failing.verified()) == 2  # both tries carried a valid signature
    listener.close()


@pytest.mark.django_db
def test_the_circuit_opens_after_consecutive_failures_and_a_probe_closes_it(tenant, receivers):
    down = receivers(always_fail=True)
    endpoint = endpoint_for(tenant, down)
    items = pending_deliveries(tenant, [endpoint], 8)
    now = timezone.now()
    opens_after = delivery.CIRCUIT_OPENS_AFTER

    # One batch: the first failures open the circuit; the rest are held back, untried.
    attempts = delivery.send_due(now=now)
    assert len(attempts) == len(down.received) == opens_after
    assert failures_of(endpoint) == opens_after
    tried, held = items[:opens_after], items[opens_after:]
    for item in held:
        assert state(item).attempt_count == 0 and attempts_of(item) == []
        assert state(item).next_attempt_at == now + delivery.CIRCUIT_PROBE_EVERY
    for item in tried:
        assert state(item).next_attempt_at == now + timedelta(seconds=SCHEDULE[0])

    # While it is open, each batch sends one delivery (the probe) and holds the rest.
    probe_at = now + delivery.CIRCUIT_PROBE_EVERY
    assert len(delivery.send_due(now=probe_at)) == 1
    assert len(down.received) == opens_after + 1
    assert failures_of(endpoint) == opens_after + 1
    assert all(state(item).attempt_count == 0 for item in held)

    # The agency's system is back: the probe succeeds, the circuit closes, and the
    # held-back deliveries go out in the same batch.
    down.always_fail = False
    attempts = delivery.send_due(now=probe_at + delivery.CIRCUIT_PROBE_EVERY)
    assert all(a.succeeded for a in attempts) and len(attempts) == 7
    assert failures_of(endpoint) == 0
    for item in held:
        assert state(item).status == "succeeded"
        assert [a.number for a in attempts_of(item)] == [1]  # holding cost no attempt
    assert len(down.verified()) == len(down.received) == opens_after + 1 + 7


def _certificate_authority(tmp_path, name: str):
    """A test CA and a server certificate for ``name``, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def subject(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = timezone.now()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject("Test CA"))
        .issuer_name(subject("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject(name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(
        certificate.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tmp_path / "ca.pem", tmp_path / "server.pem"


@pytest.mark.django_db
def test_tls_to_the_vetted_address_still_checks_the_certificate_against_the_name(
    tenant, receivers, settings, monkeypatch, tmp_path
):
    import ssl

    ca_file, server_file = _certificate_authority(tmp_path, "good.example.org")
    receiver = receivers()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(server_file)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    port = receiver.server.server_address[1]
    good = endpoint_for(tenant, receiver, url=f"https://good.example.org:{port}/hook")
    evil = endpoint_for(tenant, url=f"https://evil.example.org:{port}/hook")
    items = pending_deliveries(tenant, [good, evil], 1)
    # Both names resolve to the receiver (counted as public here); only one is on its
    # certificate. The hub trusts the test CA instead of the public ones.
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(destinations, "_internal", lambda address: address != "127.0.0.1")
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host in ("good.example.org", "evil.example.org"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(
        destinations, "tls_context", lambda: ssl.create_default_context(cafile=str(ca_file))
    )
    monkeypatch.setattr(delivery._local, "session", None, raising=False)

    delivery.send_due(now=timezone.now())

    delivered, refused = items
    assert state(delivered).status == "succeeded"
    [got] = receiver.verified()
    assert got.headers["host"] == f"good.example.org:{port}"
    [attempt] = attempts_of(refused)
    assert attempt.status_code is None and "CERTIFICATE_VERIFY_FAILED" in attempt.error
