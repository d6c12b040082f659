import pytest

from hub.models import AuditEntry
from tenants.scope import all_tenants

pytestmark = pytest.mark.django_db


def test_api_write_is_audited_with_the_key(api, tenant):
    response = api.post(
        "/api/v1/services", {"code": "x", "name": "X", "interaction_kind": "regulatory"}
    )
    with all_tenants():
        entry = AuditEntry.objects.get()
    assert entry.tenant == tenant
    assert entry.actor_kind == "api_key" and entry.actor_id == api.api_key.pk
    assert entry.object_id == response.json()["id"]
    assert entry.action == "POST /api/v1/services"
    assert entry.status_code == 201


def test_reads_and_refused_writes_are_not_audited(api):
    api.get("/api/v1/services")
    api.post("/api/v1/services", {"code": "x"})
    with all_tenants():
        assert AuditEntry.objects.count() == 0


def test_audit_entries_are_append_only(api):
    api.post("/api/v1/services", {"code": "x", "name": "X", "interaction_kind": "regulatory"})
    with all_tenants():
        entry = AuditEntry.objects.get()
    entry.action = "forged"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_an_idempotent_write_is_audited_once_with_its_work_and_not_on_replay(api):
    body = {"code": "x", "name": "X", "interaction_kind": "regulatory"}
    first = api.post("/api/v1/services", body, HTTP_IDEMPOTENCY_KEY="svc-1")
    replay = api.post("/api/v1/services", body, HTTP_IDEMPOTENCY_KEY="svc-1")
    refused = api.post("/api/v1/services", {"code": "y"}, HTTP_IDEMPOTENCY_KEY="svc-2")

    assert first.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert refused.status_code == 400
    with all_tenants():
        [entry] = AuditEntry.objects.all()
    assert entry.object_id == first.json()["id"] and entry.status_code == 201
