import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from tenants import services
from tenants.models import Tenant
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_valid_key_reaches_its_agency(api):
    response = api.get("/api/v1/services")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_missing_key_is_401_in_the_error_shape():
    response = APIClient().get("/api/v1/services")
    assert response.status_code == 401
    assert error_of(response)["code"] == "missing_api_key"
    assert error_of(response)["type"] == "authentication_error"


@pytest.mark.parametrize(
    "header",
    ["Bearer hk_aaaaaaaa_not-a-real-secret", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer"],
)
def test_wrong_keys_are_refused(tenant, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/services")
    assert response.status_code == 401
    assert error_of(response)["code"] in {"invalid_api_key", "malformed_authorization"}


def test_revoked_key_is_refused(api):
    services.revoke_api_key(api_key=api.api_key)
    response = api.get("/api/v1/services")
    assert response.status_code == 401
    assert error_of(response)["code"] == "api_key_revoked"


def test_suspended_agency_gets_403(api, tenant):
    services.set_tenant_status(tenant=tenant, status=Tenant.Status.SUSPENDED)
    response = api.get("/api/v1/services")
    assert response.status_code == 403
    assert error_of(response)["code"] == "tenant_suspended"


def test_key_without_the_scope_is_refused(tenant):
    reader = client_for(tenant, scopes=["payments:read"])
    assert reader.get("/api/v1/services").status_code == 200  # no read scope needed
    response = reader.post(
        "/api/v1/services", {"code": "x", "name": "X", "interaction_kind": "regulatory"}
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "insufficient_scope"
    assert "services:write" in error_of(response)["message"]


def test_rotation_keeps_the_old_key_working_for_the_overlap(api):
    issued = services.rotate_api_key(api_key=api.api_key, overlap=timedelta(hours=1))
    new_client = APIClient()
    new_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert new_client.get("/api/v1/services").status_code == 200
    assert api.get("/api/v1/services").status_code == 200
    with freeze_time(timezone.now() + timedelta(hours=2)):
        assert api.get("/api/v1/services").status_code == 401
        assert new_client.get("/api/v1/services").status_code == 200


def test_last_used_at_is_recorded(api, unscoped):
    assert api.api_key.last_used_at is None
    api.get("/api/v1/services")
    api.api_key.refresh_from_db()
    assert api.api_key.last_used_at is not None


def test_database_never_holds_a_secret_in_clear(api):
    secret = api.secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM tenants_apikey")
        rows = cursor.fetchall()
    flat = " ".join(str(value) for row in rows for value in row)
    assert secret not in flat
    assert secret.split("_", 2)[2] not in flat
    assert hashlib.sha256(secret.encode()).hexdigest() in flat


def test_create_api_key_command_prints_the_secret_last(tenant, capsys):
    from django.core.management import call_command

    call_command("create_api_key", tenant.slug, "--scopes", "payments:read")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {last_line}")
    assert client.get("/api/v1/services").status_code == 200
