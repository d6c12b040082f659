"""One agency's journey through the real pieces: API calls in this process (the web
side), a real ``celery worker`` process (prefork, as production runs it) on the same
PostgreSQL database and Redis, and a webhook receiver on loopback.

What must hold: the request id an API call sent reaches the worker's log lines and the
webhook's ``X-Request-Id`` header; the worker's task and delivery metrics reach
``/metrics`` of the web side (multiprocess files); and no log line of the journey, the
worker's or the web side's, holds the API key, the webhook secret, the BSN, the IBAN or
the card number that went through it.
"""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import override_settings

from hub.celery import app as celery_app
from payments.models import Payment
from payments.services.sandbox_payments import pay_with_test_card
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections, random_iban
from tests.conftest import client_for
from tests.operations.conftest import service_for
from tests.operations.test_metrics import TOKEN, json_log_lines, scrape, value
from tests.payments.conftest import SUCCESS_CARD
from tests.registration.conftest import person_body
from tests.support.faults import CeleryProcess, subprocess_env, wait_until
from tests.support.identifiers import random_bsn
from tests.support.receiver import WebhookReceiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
REQUEST_ID = "agency-trace-7f3a9c"


class ConfiguredRedis:
    """The Redis this test run is configured with (REDIS_URL db n, the broker at n+1),
    in the shape tests/support/faults.py's ``subprocess_env`` takes."""

    def __init__(self, url: str) -> None:
        self.base, db = url.rsplit("/", 1)
        self.db = int(db or 0)

    def url(self, offset: int = 0) -> str:
        return f"{self.base}/{self.db + offset}"


@pytest.fixture
def worker(tmp_path):
    if not settings.REDIS_URL.startswith("redis://"):
        pytest.skip("needs REDIS_URL (the worker is a separate process)")
    redis = ConfiguredRedis(settings.REDIS_URL)
    if redis.url(1) != settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL at the db after REDIS_URL's")
    celery_app.control.purge()  # messages left by earlier runs would be noise
    # The worker writes its metric samples where this process reads them.
    env = subprocess_env(redis, PROMETHEUS_MULTIPROC_DIR=str(settings.HUB_METRICS_DIR))
    process = CeleryProcess("worker", env, tmp_path).start()
    yield process
    process.stop()


@override_settings(HUB_METRICS_TOKEN=TOKEN)
def test_a_request_id_follows_the_journey_and_no_secret_reaches_a_log(tenant, worker):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    receiver = WebhookReceiver().start()
    api = client_for(tenant)
    bsn, iban = random_bsn(), random_iban()
    try:
        with json_log_lines() as web_lines:
            endpoint = api.post(
                "/api/v1/webhook-endpoints", {"url": receiver.url, "event_types": ["payment.*"]}
            )
            assert endpoint.status_code == 201, endpoint.content
            receiver.secret = endpoint.json()["secret"]
            person = api.post("/api/v1/constituents", person_body(bsn))
            assert person.status_code == 201, person.content
            # A mandate: the account number goes through the API and into a bank file.
            collections = Collections(tenant)
            mandate = api.post(
                "/api/v1/mandates",
                {
                    "constituent": collections.constituent().pk,
                    "scheme": "sepa_core",
                    "signed_on": "2024-01-02",
                    "account_holder_name": "J. Jansen",
                    "iban": iban,
                    "bic": "COBADEFFXXX",
                },
            )
            assert mandate.status_code == 201, mandate.content
            before = scrape(**auth)

            created = api.post(
                "/api/v1/payments",
                {
                    "amount": 1250,
                    "currency": "EUR",
                    "description": "Parking permit",
                    "reference": "PARK-0042",
                    "service": service_for(tenant).pk,
                    "return_url": "https://agency.example/return",
                },
                HTTP_X_REQUEST_ID=REQUEST_ID,
                HTTP_IDEMPOTENCY_KEY="journey-payment-1",
            )
            assert created.status_code == 201, created.content
            assert created["X-Request-Id"] == REQUEST_ID
            with tenant_scope(tenant):
                pay_with_test_card(
                    payment=Payment.objects.get(pk=created.json()["id"]), card_number=SUCCESS_CARD
                )
            assert receiver.wait_for(2, timeout=30), worker.tail()
            after = scrape(**auth)
    finally:
        receiver.stop()

    # The webhook of the payment the API call created names that call.
    by_type = {r.json["type"]: r for r in receiver.verified()}
    assert by_type["payment.created"].headers["x-request-id"] == REQUEST_ID
    assert "x-request-id" not in by_type["payment.succeeded"].headers  # not caused by a call

    # The worker's lines are JSON, and those of the tasks the call caused carry its id.
    worker_lines = [
        json.loads(line)
        for line in worker.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    traced = [line for line in worker_lines if line["request_id"] == REQUEST_ID]
    # The dispatch task sends the event's webhooks itself (a batch, no task per delivery).
    assert any("hub.dispatch_events" in line["message"] for line in traced), worker.tail()

    # The worker's figures reach the web side's /metrics.
    delivered = {"task": "hub.dispatch_events", "outcome": "succeeded"}
    assert wait_until(
        lambda: (
            value(scrape(**auth), "hub_celery_tasks_total", **delivered)
            >= value(before, "hub_celery_tasks_total", **delivered) + 2
        ),
        timeout=10,
    )
    ok = {"outcome": "succeeded"}
    assert value(after, "hub_webhook_attempts_total", **ok) >= (
        value(before, "hub_webhook_attempts_total", **ok) + 1
    )
    paid = {"agency": tenant.slug, "state": "success", "provider": "sandbox"}
    assert value(after, "hub_payments", **paid) == value(before, "hub_payments", **paid) + 1

    # The log scan: every line of the journey, the web side's and the worker's.
    logs = worker.log_path.read_text() + "\n".join(json.dumps(line) for line in web_lines)
    # The web side's access line of the call carries its id too.
    assert any(
        line["request_id"] == REQUEST_ID and line["logger"] == "hub.requests" for line in web_lines
    )
    spaced_iban = " ".join(re.findall(".{1,4}", iban))
    for secret in (api.secret, receiver.secret, bsn, iban, spaced_iban, "4242424242424242"):
        assert secret not in logs, f"a log line holds {secret[:4]}…"
