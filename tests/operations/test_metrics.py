"""/metrics: protected, parseable by Prometheus' own parser, and it moves with the hub."""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from hub.logging import RedactSecretsFilter
from hub.observability.json_logs import JsonFormatter
from tests.operations.conftest import service_for
from tests.payments.conftest import SUCCESS_CARD, new_payment

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(**headers) -> dict[tuple[str, tuple], float]:
    response = Client(**headers).get("/metrics")
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@override_settings(HUB_METRICS_TOKEN=TOKEN, HUB_METRICS_ALLOWED_NETWORKS=[])
def test_metrics_answer_the_operators_token_only():
    assert Client().get("/metrics").status_code == 403
    wrong = Client(HTTP_AUTHORIZATION="Bearer not-the-token").get("/metrics")
    assert wrong.status_code == 403
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@override_settings(HUB_METRICS_TOKEN="", HUB_METRICS_ALLOWED_NETWORKS=["10.1.0.0/16"])
def test_metrics_answer_the_allowed_network_only():
    assert Client(REMOTE_ADDR="10.2.0.9").get("/metrics").status_code == 403
    assert scrape(REMOTE_ADDR="10.1.4.5")


@override_settings(HUB_METRICS_TOKEN=TOKEN)
def test_metrics_move_when_a_payment_succeeds(tenant, api):
    from payments.services.sandbox_payments import pay_with_test_card
    from tenants.scope import tenant_scope

    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    payment = new_payment(tenant, service_for(tenant))
    before = scrape(**auth)
    assert api.get(f"/api/v1/payments/{payment.pk}").status_code == 200
    with tenant_scope(tenant):
        pay_with_test_card(payment=payment, card_number=SUCCESS_CARD)
    after = scrape(**auth)

    paid = {"agency": tenant.slug, "state": "success", "provider": "sandbox"}
    assert value(after, "hub_payments", **paid) == value(before, "hub_payments", **paid) + 1
    route = {"route": "api/v1/payments/<pk>", "method": "GET", "status": "200"}
    assert value(after, "hub_http_requests_total", **route) == (
        value(before, "hub_http_requests_total", **route) + 1
    )
    assert value(after, "hub_outbox_undispatched_events") >= 1  # no worker in this test
    assert value(after, "hub_outbox_lag_seconds") >= 0


def test_every_response_carries_a_request_id(api):
    mine = api.get("/api/v1/services", HTTP_X_REQUEST_ID="agency-trace-42")
    assert mine["X-Request-Id"] == "agency-trace-42"
    made = api.get("/api/v1/services")
    assert made["X-Request-Id"].startswith("req_")
    # Refused before any view (413), it still carries one.
    huge = api.generic(
        "POST", "/api/v1/payments", "{}", "application/json", CONTENT_LENGTH=str(10**9)
    )
    assert huge.status_code == 413 and huge["X-Request-Id"].startswith("req_")


def test_a_failed_requests_log_line_names_its_request_id(api):
    with json_log_lines() as lines:
        api.post("/api/v1/payments", {"amount": "x"}, HTTP_X_REQUEST_ID="agency-trace-400")
    refused = [line for line in lines if line["logger"] == "django.request"]
    assert refused and refused[-1]["request_id"] == "agency-trace-400"


@contextmanager
def json_log_lines():
    """The root logger's lines as the hub's JSON handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecretsFilter())
    lines: list[dict] = []
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


@pytest.mark.parametrize(
    "offered", ["a" * 129, "bad id with spaces", "x\r\nSet-Cookie: a=b", "<script>", "-leading"]
)
def test_an_unsafe_request_id_is_replaced(api, offered):
    answer = api.get("/api/v1/services", HTTP_X_REQUEST_ID=offered)
    assert answer["X-Request-Id"].startswith("req_")


def test_the_example_alert_rules_name_only_metrics_the_hub_exports():
    import re
    from pathlib import Path

    import yaml

    from hub.observability import metrics
    from operations.metrics import DatabaseCollector

    exported = {family.name for family in DatabaseCollector().collect()}
    for metric in vars(metrics).values():
        if hasattr(metric, "_name") and hasattr(metric, "_type"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            exported |= {metric._name + s for s in suffixes.get(metric._type, [""])}
    rules = yaml.safe_load((Path(settings.BASE_DIR) / "docs/prometheus-alerts.yml").read_text())
    named = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bhub_[a-z_]+", rule["expr"])
    }
    assert len(named) >= 8
    assert named <= exported, named - exported
