"""Outbox, dispatch and signed delivery, against real local HTTP receivers."""

from __future__ import annotations

import base64
import socket
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.events import delivery, destinations, dispatch, endpoints
from hub.events.catalogue import register_event_type
from hub.events.models import Event, WebhookDelivery, WebhookEndpoint
from hub.events.outbox import OutboxError, publish
from hub.events.subscribers import subscribe
from tenants.scope import all_tenants

pytestmark = pytest.mark.django_db
TEST_EVENT = register_event_type(
    "test.happened", "Used by the test suite", read_scope="payments:read"
)
SCHEDULE = delivery.DEFAULT_RETRY_SCHEDULE


def endpoint_for(tenant, receiver, event_types=("*",)) -> WebhookEndpoint:
    created = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=list(event_types)
    )
    receiver.secret = created.secret
    return created.endpoint


def publish_committed(tenant, subject="sub_1", payload=None) -> Event:
    with transaction.atomic():
        return publish(
            tenant=tenant, type=TEST_EVENT, subject_id=subject, payload=payload or {"n": 1}
        )


def deliver_everything(now=None):
    """What the worker does: dispatch undispatched events, then send due deliveries."""
    now = now or timezone.now()
    for event_id in dispatch.undispatched_event_ids(now=now + dispatch.SWEEP_GRACE):
        dispatch.dispatch_event(event_id)
    now = max(now, timezone.now())  # deliveries made just now are due now
    for delivery_id in delivery.due_delivery_ids(now=now):
        delivery.attempt_delivery(delivery_id, now=now)
    return now


@pytest.mark.django_db(transaction=True)
def test_publish_outside_a_transaction_is_refused(tenant):
    with pytest.raises(OutboxError):
        publish(tenant=tenant, type=TEST_EVENT, subject_id="x", payload={})


def test_rolled_back_event_is_never_delivered(tenant, receivers):
    receiver = receivers()
    endpoint_for(tenant, receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(tenant=tenant, type=TEST_EVENT, subject_id="x", payload={})
        raise RuntimeError("the change failed")
    with all_tenants():
        assert Event.objects.count() == 0
    deliver_everything()
    assert receiver.received == []


def test_committed_event_survives_a_dispatcher_crash(
    tenant, receivers, monkeypatch, django_capture_on_commit_callbacks
):
    receiver = receivers()
    endpoint_for(tenant, receiver)
    # An event with an in-process subscriber, so that dispatching has a "half-way".
    event_type = register_event_type("test.survives", "test", read_scope="payments:read")
    subscribe(event_type, name="tests.survives")(lambda event: None)
    # The commit hook never reaches a worker (the process dies right after commit)...
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        event = publish(tenant=tenant, type=event_type, subject_id="x", payload={"n": 1})
    # ...and the first dispatch attempt dies half-way, after the claim committed.
    real = dispatch._run_subscribers

    def crash(event):
        raise SystemExit("worker killed")

    monkeypatch.setattr(dispatch, "_run_subscribers", crash)
    with pytest.raises(SystemExit):
        dispatch.dispatch_event(event.pk)
    with all_tenants():
        # The claim committed before the subscribers ran: the delivery is kept and the
        # attempt counted, but the event is not marked dispatched.
        assert WebhookDelivery.objects.count() == 1
        event.refresh_from_db()
        assert event.dispatched_at is None and event.dispatch_attempts == 1
    monkeypatch.setattr(dispatch, "_run_subscribers", real)

    deliver_everything(now=timezone.now() + timedelta(seconds=30))  # the periodic sweep
    assert len(receiver.verified()) == 1  # once: the re-dispatch made no second delivery
    assert receiver.verified()[0].json["id"] == event.pk
    with all_tenants():
        event.refresh_from_db()
        assert event.dispatched_at is not None and event.dispatch_attempts == 2


def test_delivery_is_signed_per_standard_webhooks(tenant, receivers):
    receiver = receivers()
    endpoint = endpoint_for(tenant, receiver)
    event = publish_committed(tenant, payload={"amount": 1250, "currency": "EUR"})
    deliver_everything()
    [got] = receiver.received
    assert got.verified, got.error
    assert got.headers["webhook-id"] == event.pk
    assert got.json == {
        "id": event.pk,
        "type": "test.happened",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant": tenant.slug,
        "data": {"amount": 1250, "currency": "EUR"},
    }
    # The same library rejects a tampered body and a stale timestamp.
    verifier = Webhook(endpoint.secret)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(got.body.replace(b"1250", b"9250"), got.headers)
    stale = {**got.headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(got.body, stale)
    with all_tenants():
        attempt = WebhookDelivery.objects.get().attempts.get()
    assert attempt.status_code == 200 and attempt.succeeded and attempt.response_excerpt == "ok"


def test_retries_follow_the_schedule_until_success(tenant, receivers):
    receiver = receivers(fail_first=3)
    endpoint_for(tenant, receiver)
    publish_committed(tenant)
    now = deliver_everything()
    with all_tenants():
        item = WebhookDelivery.objects.get()
    gaps = []
    for _ in range(3):
        item.refresh_from_db()
        gaps.append((item.next_attempt_at - now).total_seconds())
        early = now + timedelta(seconds=gaps[-1] - 1)
        assert delivery.attempt_delivery(item.pk, now=early) is None  # not due yet
        now = item.next_attempt_at
        delivery.attempt_delivery(item.pk, now=now)
    item.refresh_from_db()
    assert gaps == list(SCHEDULE[:3])
    assert item.status == "succeeded"
    assert [a.status_code for a in item.attempts.all()] == [500, 500, 500, 200]
    assert item.endpoint.consecutive_failures == 0


def test_final_failure_marks_delivery_failed_and_flags_endpoint(tenant, receivers):
    receiver = receivers(always_fail=True)
    endpoint = endpoint_for(tenant, receiver)
    publish_committed(tenant)
    now = deliver_everything()
    with all_tenants():
        item = WebhookDelivery.objects.get()
    total = timedelta()
    while True:
        item.refresh_from_db()
        if item.status != "pending":
            break
        total += item.next_attempt_at - now
        now = item.next_attempt_at
        delivery.attempt_delivery(item.pk, now=now)
    assert item.status == "failed"
    assert item.attempt_count == len(SCHEDULE) + 1 == len(receiver.received)
    assert timedelta(hours=20) < total < timedelta(hours=30)  # "about a day"
    endpoint.refresh_from_db()
    assert endpoint.flagged_at is not None
    assert endpoint.consecutive_failures == len(SCHEDULE) + 1
    # An operator replays it once the receiver is fixed.
    receiver.always_fail = False
    delivery.replay(item)
    delivery.attempt_delivery(item.pk)
    item.refresh_from_db()
    endpoint.refresh_from_db()
    assert item.status == "succeeded" and endpoint.flagged_at is None


def test_slow_receiver_times_out(tenant, receivers, monkeypatch):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    monkeypatch.setattr(delivery, "READ_TIMEOUT", 0.5)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    endpoints.create_endpoint(tenant=tenant, url=url, event_types=["*"])
    publish_committed(tenant)
    started = time.monotonic()
    deliver_everything()
    assert time.monotonic() - started < 5
    with all_tenants():
        attempt = WebhookDelivery.objects.get().attempts.get()
    assert attempt.status_code is None and "Timeout" in attempt.error
    listener.close()


def test_an_agency_never_receives_another_agencys_events(tenant, other_tenant, receivers):
    mine, theirs = receivers(), receivers()
    endpoint_for(tenant, mine)
    endpoint_for(other_tenant, theirs)
    publish_committed(tenant, subject="a")
    publish_committed(other_tenant, subject="b")
    publish_committed(tenant, subject="c")
    deliver_everything()
    assert {r.json["tenant"] for r in mine.verified()} == {tenant.slug}
    assert {r.json["tenant"] for r in theirs.verified()} == {other_tenant.slug}
    assert len(mine.verified()) == 2 and len(theirs.verified()) == 1


def test_endpoints_receive_only_subscribed_types(tenant, receivers):
    wanted, unwanted = receivers(), receivers()
    endpoint_for(tenant, wanted, event_types=["test.*"])
    endpoint_for(tenant, unwanted, event_types=["webhook.ping"])
    publish_committed(tenant)
    deliver_everything()
    assert len(wanted.verified()) == 1 and unwanted.received == []


def test_subscribers_run_once_even_when_dispatched_twice(tenant):
    calls = []
    event_type = register_event_type("test.counted", "test", read_scope="payments:read")

    @subscribe(event_type, name="tests.counter")
    def count(event):
        calls.append(event.pk)

    with transaction.atomic():
        event = publish(tenant=tenant, type=event_type, subject_id="x", payload={})
    assert dispatch.dispatch_event(event.pk) is True
    assert dispatch.dispatch_event(event.pk) is False
    from hub.events.subscribers import run_subscriber, subscribers_for

    [subscriber] = subscribers_for(event_type)
    assert run_subscriber(subscriber, event) is False  # a redelivered task
    assert calls == [event.pk]


def test_failing_subscriber_is_retried_without_rerunning_others(tenant):
    event_type = register_event_type("test.flaky", "test", read_scope="payments:read")
    good, flaky = [], []

    @subscribe(event_type, name="tests.good")
    def good_handler(event):
        good.append(1)

    @subscribe(event_type, name="tests.flaky")
    def flaky_handler(event):
        flaky.append(1)
        if len(flaky) == 1:
            raise ValueError("temporary")

    with transaction.atomic():
        event = publish(tenant=tenant, type=event_type, subject_id="x", payload={})
    assert dispatch.dispatch_event(event.pk) is False
    event.refresh_from_db()
    assert event.dispatched_at is None and "temporary" in event.last_error
    assert dispatch.dispatch_event(event.pk) is True
    assert good == [1] and flaky == [1, 1]


def test_secret_is_encrypted_at_rest_and_shown_once(api, tenant, receivers):
    receiver = receivers()
    response = api.post("/api/v1/webhook-endpoints", {"url": receiver.url, "event_types": ["*"]})
    assert response.status_code == 201, response.json()
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    shown = api.get(f"/api/v1/webhook-endpoints/{response.json()['id']}").json()
    assert "secret" not in shown
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM hub_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored and secret[6:] not in stored


def test_rotated_secret_overlaps_so_both_verify(api, tenant, receivers):
    old_receiver = receivers()
    created = api.post(
        "/api/v1/webhook-endpoints", {"url": old_receiver.url, "event_types": ["*"]}
    ).json()
    old_receiver.secret = created["secret"]
    rotated = api.post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret").json()
    assert rotated["secret"] != created["secret"]
    publish_committed(tenant)
    deliver_everything()
    [got] = old_receiver.received
    assert got.verified  # still holding the old secret
    Webhook(rotated["secret"]).verify(got.body, got.headers)  # the new one verifies too


# Internal addresses that a "private?" check let through: shared address space
# (100.64.0.0/10, where cloud metadata services listen) and IPv4 internals wrapped in
# IPv6 forms (6to4, Teredo, NAT64, IPv4-mapped), each reaching 127.0.0.1 or 10.0.0.8.
SSRF_FORMS = [
    "http://100.64.0.1/hook",
    "http://100.100.100.200/latest/meta-data",
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://[2002:a00:8::1]/hook",  # 6to4 of 10.0.0.8
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fff7]/hook",  # Teredo, client 10.0.0.8
    "http://[2001:0:a00:8:8000:63bf:3fff:fdd2]/hook",  # Teredo, server 10.0.0.8
    "http://[64:ff9b::7f00:1]/hook",  # NAT64 (well-known prefix) of 127.0.0.1
    "http://[64:ff9b:1::a00:8]/hook",  # local-use NAT64 prefix
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:a00:8]/hook",
]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/hook",
        *SSRF_FORMS,
        "file:///etc/passwd",
        "gopher://example.org/",
    ],
)
def test_internal_and_non_http_urls_are_refused(api, settings, url):
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    response = api.post("/api/v1/webhook-endpoints", {"url": url, "event_types": ["*"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"url_not_allowed", "invalid_value"}
    with all_tenants():
        assert WebhookEndpoint.objects.count() == 0


def test_delivery_rechecks_the_destination(tenant, receivers, settings):
    receiver = receivers()
    endpoint_for(tenant, receiver)  # allowed while registering (debug)...
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False  # ...not when sending in production
    publish_committed(tenant)
    deliver_everything()
    assert receiver.received == []
    with all_tenants():
        assert "refused" in WebhookDelivery.objects.get().attempts.get().error


@pytest.mark.parametrize("url", SSRF_FORMS)
def test_delivery_refuses_every_internal_form_at_send_time(tenant, receivers, settings, url):
    # An endpoint stored before the check knew these forms (or written around the API)
    # is refused again when sending.
    endpoint = endpoint_for(tenant, receivers())
    with all_tenants():
        endpoint.url = url
        endpoint.save(update_fields=["url"])
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    publish_committed(tenant)
    deliver_everything()
    with all_tenants():
        assert WebhookDelivery.objects.get().attempts.get().error.startswith("refused:")


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "2606:4700::1111", "2002:5db8:d70e::1", "64:ff9b::5db8:d70e"],
)
def test_public_addresses_stay_allowed_in_every_form(address):
    # 6to4 and NAT64 of a public IPv4 address lead to that public address.
    assert destinations._internal(address) is False


def test_a_name_that_rebinds_to_an_internal_address_after_the_check_is_not_reached(
    tenant, receivers, settings, monkeypatch
):
    # DNS rebinding: the name answers a public address when the hub checks it and the
    # loopback address (where a receiver listens) when the HTTP client would connect.
    receiver = receivers()
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    endpoint = endpoint_for(tenant, receiver)
    with all_tenants():
        endpoint.url = f"http://rebind.example.org:{port}/hook"
        endpoint.save(update_fields=["url"])
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    answers = {"rebind.example.org": ["93.184.215.14" if n == 0 else "127.0.0.1" for n in range(9)]}
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_resolver(host, port, *args, **kwargs):
        if host in answers:
            address = answers[host].pop(0)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)
    monkeypatch.setattr(delivery._local, "session", None, raising=False)  # a fresh session

    publish_committed(tenant)
    deliver_everything()

    assert receiver.received == []
    with all_tenants():
        error = WebhookDelivery.objects.get().attempts.get().error
    assert "internal address" in error


def test_a_delivery_connects_to_the_address_it_vetted_and_keeps_the_name(
    tenant, receivers, settings, monkeypatch
):
    receiver = receivers()
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    endpoint = endpoint_for(tenant, receiver)
    with all_tenants():
        endpoint.url = f"http://pinned.example.org:{port}/hook"
        endpoint.save(update_fields=["url"])
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = False
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "pinned.example.org":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    # The receiver is on loopback: let this test's address count as public, so that
    # what is tested is the connection, not the classification.
    monkeypatch.setattr(destinations, "_internal", lambda address: address != "127.0.0.1")
    monkeypatch.setattr(delivery._local, "session", None, raising=False)

    publish_committed(tenant, subject="sub_1")
    deliver_everything()
    publish_committed(tenant, subject="sub_2")  # over the same kept-alive connection
    deliver_everything()

    assert len(receiver.received) == 2
    for got in receiver.received:
        assert got.headers["host"] == f"pinned.example.org:{port}"
        assert got.verified
    # Resolved by each send's check and once by the one connection, which used that
    # answer: the HTTP client did not resolve the name on its own.
    assert len(lookups) == 3


def test_unknown_event_types_are_refused(api, receivers):
    response = api.post(
        "/api/v1/webhook-endpoints", {"url": receivers().url, "event_types": ["payment.exploded"]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_event_type"


def test_ping_reaches_only_that_endpoint(api, tenant, receivers):
    receiver, bystander = receivers(), receivers()
    endpoint = endpoint_for(tenant, receiver)
    endpoint_for(tenant, bystander)
    response = api.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/ping")
    assert response.status_code == 202
    deliver_everything()
    assert [r.json["type"] for r in receiver.verified()] == ["webhook.ping"]
    assert bystander.received == []


def test_agency_lists_its_events(api, other_api, tenant, other_tenant):
    mine = publish_committed(tenant)
    publish_committed(other_tenant)
    listed = api.get("/api/v1/events").json()["results"]
    assert [e["id"] for e in listed] == [mine.pk]


def test_events_of_one_transaction_reach_the_broker_in_chunks(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    from hub import tasks
    from hub.events import outbox

    sent = []
    monkeypatch.setattr(tasks.dispatch_events, "delay", lambda ids: sent.append(list(ids)))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        published = outbox.publish_many(
            outbox.EventSpec(tenant, TEST_EVENT, f"s{n}", {"n": n}) for n in range(23)
        )
    assert [len(chunk) for chunk in sent] == [10, 10, 3]
    assert [pk for chunk in sent for pk in chunk] == [e.pk for e in published]


def test_batched_events_of_one_transaction_reach_the_broker_as_one_message(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    from hub import tasks
    from hub.events import outbox

    sent = []
    monkeypatch.setattr(tasks.dispatch_events, "delay", lambda ids: sent.append(list(ids)))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = outbox.publish_batched(
            outbox.EventSpec(tenant, TEST_EVENT, f"a{n}", {"n": n}) for n in range(23)
        )
        second = outbox.publish_batched(
            outbox.EventSpec(tenant, TEST_EVENT, f"b{n}", {"n": n}) for n in range(7)
        )
    assert sent == [first + second]
    with all_tenants():
        stored = dict(Event.objects.filter(tenant=tenant).values_list("subject_id", "payload"))
    assert stored == {
        **{f"a{n}": {"n": n} for n in range(23)},
        **{f"b{n}": {"n": n} for n in range(7)},
    }


def test_a_message_of_more_events_than_one_claim_is_dispatched_in_slices(
    tenant, monkeypatch, receivers
):
    from hub.events import outbox

    receiver = receivers()
    monkeypatch.setattr(dispatch, "CLAIM_SLICE", 4)
    claim, claimed = dispatch._claim, []

    def counting_claim(event_ids, **kwargs):
        claimed.append(len(event_ids))
        return claim(event_ids, **kwargs)

    monkeypatch.setattr(dispatch, "_claim", counting_claim)
    endpoint_for(tenant, receiver, [TEST_EVENT])
    with transaction.atomic():
        ids = outbox.publish_batched(
            outbox.EventSpec(tenant, TEST_EVENT, f"s{n}", {"n": n}) for n in range(10)
        )
    assert dispatch.dispatch_events(ids, deliver_now=True) == 10
    assert claimed == [4, 4, 2]
    assert dispatch.dispatch_events(ids, deliver_now=True) == 0  # each event once
    assert sorted(r.json["data"]["n"] for r in receiver.verified()) == list(range(10))
    with all_tenants():
        assert WebhookDelivery.objects.filter(event_id__in=ids).count() == 10
        assert not Event.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()


def test_a_rolled_back_batch_does_not_swallow_the_next_transactions_events(
    tenant, monkeypatch, django_capture_on_commit_callbacks
):
    from hub import tasks

    sent = []
    monkeypatch.setattr(tasks.dispatch_events, "delay", lambda ids: sent.append(list(ids)))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(tenant=tenant, type=TEST_EVENT, subject_id="lost", payload={})
            raise RuntimeError("rolled back")
        with transaction.atomic():
            kept = publish(tenant=tenant, type=TEST_EVENT, subject_id="kept", payload={})
    assert sent == [[kept.pk]]
