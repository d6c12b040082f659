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
