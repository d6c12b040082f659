"""Retiring an encryption key: re-encrypt what is stored, then the old key can go."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from hub import key_rotation
from hub.events import endpoints
from hub.events.models import WebhookEndpoint
from registration.models import Identifier
from tenants.scope import all_tenants
from tests.registration.conftest import person_body
from tests.support.identifiers import random_bsn

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stale_by_field() -> dict[str, int]:
    return {report.label: report.stale for report in key_rotation.check() if report.stored}


def test_reencrypted_secrets_read_with_the_new_key_alone(settings, tenant, api):
    settings.HUB_ENCRYPTION_KEYS = [OLD]
    secret = endpoints.create_endpoint(
        tenant=tenant, url="http://127.0.0.1:9/hook", event_types=["*"]
    ).secret
    bsn = random_bsn()
    assert api.post("/api/v1/constituents", person_body(bsn)).status_code == 201

    settings.HUB_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(ValueError, match="cannot decrypt"):
        Identifier.objects.get()  # the old key is still needed...

    settings.HUB_ENCRYPTION_KEYS = [NEW, OLD]
    assert stale_by_field() == {
        "hub.WebhookEndpoint.secret": 1,
        "registration.Identifier.value": 1,
    }
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "hub.WebhookEndpoint.secret: 1 stored, 1 under an older key, re-encrypted 1" in (
        out.getvalue()
    )
    call_command("reencrypt_secrets", "--check", stdout=io.StringIO())  # exits 0: none left

    settings.HUB_ENCRYPTION_KEYS = [NEW]  # ...and now it is not
    with all_tenants():
        assert WebhookEndpoint.objects.get().secret == secret
    assert Identifier.objects.get().value == bsn


def stored_ciphertext() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {WebhookEndpoint._meta.db_table}")  # noqa: S608
        return cursor.fetchone()[0]


def test_check_fails_while_values_need_an_older_key_and_changes_nothing(settings, tenant):
    settings.HUB_ENCRYPTION_KEYS = [OLD]
    endpoints.create_endpoint(tenant=tenant, url="http://127.0.0.1:9/hook", event_types=["*"])
    before = stored_ciphertext()
    settings.HUB_ENCRYPTION_KEYS = [NEW, OLD]

    with pytest.raises(SystemExit) as exited:
        call_command("reencrypt_secrets", "--check", stdout=io.StringIO(), stderr=io.StringIO())

    assert exited.value.code == 1
    assert stored_ciphertext() == before
    assert stale_by_field() == {"hub.WebhookEndpoint.secret": 1}
