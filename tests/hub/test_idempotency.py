import threading

import pytest
from django.db import connection

from hub.models import IdempotencyRecord
from tenants.models import Service
from tenants.scope import all_tenants
from tests.conftest import client_for

BODY = {"code": "passport", "name": "Passport renewal", "interaction_kind": "discretionary"}


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_response(api):
    first = api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    with all_tenants():
        assert Service.objects.count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_409(api):
    assert api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    response = api.post("/api/v1/services", {**BODY, "name": "Other"}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_a_refused_request_is_replayed_too(api):
    bad = {**BODY, "interaction_kind": "nonsense"}
    first = api.post("/api/v1/services", bad, HTTP_IDEMPOTENCY_KEY="k-3")
    again = api.post("/api/v1/services", bad, HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 400
    assert first.json() == again.json()


@pytest.mark.django_db
def test_keys_are_per_agency(api, other_api):
    mine = api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other_api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.django_db
def test_expired_records_are_purged(api):
    from datetime import timedelta

    from django.utils import timezone

    from hub import idempotency

    api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="old")
    assert idempotency.purge_expired(now=timezone.now() + timedelta(hours=25)) == 0
    assert idempotency.purge_expired(now=timezone.now() + timedelta(hours=49)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_with_one_key_create_one_object(tenant):
    client = client_for(tenant)
    barrier = threading.Barrier(20)
    responses = []
    lock = threading.Lock()

    def post():
        try:
            barrier.wait()
            response = client.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="race")
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(responses) == 20
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(1 for r in responses if r.get("Idempotent-Replayed") is None) == 1
    with all_tenants():
        assert Service.objects.filter(tenant=tenant).count() == 1
        assert IdempotencyRecord.objects.filter(tenant=tenant, key="race").count() == 1


def _database_text() -> str:
    """Every row of every table, as text: what a dump or a backup would show."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from introspection)
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


@pytest.mark.django_db
def test_responses_carrying_a_webhook_secret_are_never_stored_in_clear(api, settings):
    settings.HUB_WEBHOOKS_ALLOW_PRIVATE = True
    body = {"url": "https://hooks.example.org/hub", "event_types": ["*"]}
    created = api.post("/api/v1/webhook-endpoints", body, HTTP_IDEMPOTENCY_KEY="ep-1")
    assert created.status_code == 201
    secrets_shown = [created.json()["secret"]]
    assert secrets_shown[0].startswith("whsec_")
    assert "whsec_" not in _database_text()

    rotate = f"/api/v1/webhook-endpoints/{created.json()['id']}/rotate-secret"
    rotated = api.post(rotate, HTTP_IDEMPOTENCY_KEY="rot-1")
    assert rotated.status_code == 200
    secrets_shown.append(rotated.json()["secret"])
    dump = _database_text()
    assert "whsec_" not in dump
    for secret in secrets_shown:
        assert secret.removeprefix("whsec_") not in dump
    with all_tenants():
        assert IdempotencyRecord.objects.filter(response_body__isnull=True).count() == 2

    # A retry that lost the first answer still gets the same secret back.
    replayed = api.post("/api/v1/webhook-endpoints", body, HTTP_IDEMPOTENCY_KEY="ep-1")
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.status_code == 201
    assert replayed.json() == created.json()
    rotated_again = api.post(rotate, HTTP_IDEMPOTENCY_KEY="rot-1")
    assert rotated_again["Idempotent-Replayed"] == "true"
    assert rotated_again.json() == rotated.json()
    assert "whsec_" not in _database_text()


@pytest.mark.django_db
def test_responses_without_a_secret_stay_readable_for_support(api):
    api.post("/api/v1/services", BODY, HTTP_IDEMPOTENCY_KEY="plain")
    with all_tenants():
        record = IdempotencyRecord.objects.get(key="plain")
    assert record.response_body["code"] == "passport"
    assert record.encrypted_response_body is None
