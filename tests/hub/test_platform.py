import subprocess
import sys

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_broker():
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]


def test_health_says_when_events_wait_for_a_worker_but_stays_200(tenant):
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from hub.events.catalogue import register_event_type
    from hub.events.models import Event
    from hub.events.outbox import publish
    from tenants.scope import all_tenants

    register_event_type("test.health", "Used by the health test", read_scope="payments:read")
    with transaction.atomic():
        publish(tenant=tenant, type="test.health", subject_id="s1", payload={})
    fresh = APIClient().get("/api/v1/health").json()
    assert fresh["outbox"]["ok"] and fresh["status"] == "ok"

    with all_tenants():  # no worker dispatched it for ten minutes
        Event.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    response = APIClient().get("/api/v1/health")

    assert response.status_code == 200  # the web process still serves
    body = response.json()
    assert body["status"] == "degraded" and body["outbox"]["ok"] is False
    assert body["outbox"]["oldest_undispatched_seconds"] >= 600


def test_schema_and_docs_are_served_without_a_cdn():
    client = APIClient()
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/services" in schema.content.decode()
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_debug_off_without_secret_key_refuses_to_start(tmp_path):
    env = {"DEBUG": "0", "HUB_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
            "'hub.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


def test_redaction_filter_rewrites_records():
    import logging

    from hub.logging import RedactSecretsFilter

    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "key %s and Bearer abc.def",
        ("hk_abcdefgh_" + "s" * 43,),
        None,
    )
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "key [redacted] and Bearer [redacted]"
