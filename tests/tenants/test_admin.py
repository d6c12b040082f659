"""Agency staff see only their agency in the admin; hub operators see all."""

import pytest
from django.contrib.auth import get_user_model

from hub.models import AuditEntry
from tenants import services
from tenants.models import Service, StaffMembership
from tenants.scope import all_tenants
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def services_of_two(tenant, other_tenant):
    return (
        services.create_service(
            tenant=tenant, code="own", name="Own service", interaction_kind="regulatory"
        ),
        services.create_service(
            tenant=other_tenant,
            code="foreign",
            name="Foreign service",
            interaction_kind="regulatory",
        ),
    )


def staff(tenant, role, username="agent"):
    user = get_user_model().objects.create_user(username=username, password="pw-123456789")
    services.grant_role(tenant=tenant, user=user, role=role)
    return user


def test_agency_admin_sees_only_own_agency(client, tenant, services_of_two):
    own, foreign = services_of_two
    client.force_login(staff(tenant, StaffMembership.Role.AGENCY_ADMIN))
    page = client.get("/admin/tenants/service/")
    assert page.status_code == 200
    assert "Own service" in page.content.decode()
    assert "Foreign service" not in page.content.decode()
    assert client.get(admin_change_path("tenants.service", foreign.pk)).status_code in (302, 404)
    assert client.get(admin_change_path("tenants.service", own.pk)).status_code == 200
    tenants_page = client.get("/admin/tenants/tenant/").content.decode()
    assert tenant.name in tenants_page and "Vehicle Agency" not in tenants_page


def test_agency_admin_changes_own_service_and_it_is_audited(client, tenant, services_of_two):
    own, _ = services_of_two
    client.force_login(staff(tenant, StaffMembership.Role.AGENCY_ADMIN))
    response = client.post(
        admin_change_path("tenants.service", own.pk),
        {
            "tenant": tenant.pk,
            "code": "own",
            "name": "Renamed",
            "interaction_kind": "regulatory",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with all_tenants():
        assert Service.objects.get(pk=own.pk).name == "Renamed"
        entry = AuditEntry.objects.get(object_id=own.pk)
    assert entry.tenant == tenant
    assert entry.actor_kind == "staff_user"
    assert entry.action == "admin change"


def test_auditor_cannot_change_services(client, tenant, services_of_two):
    own, _ = services_of_two
    client.force_login(staff(tenant, StaffMembership.Role.AUDITOR))
    assert client.get("/admin/tenants/service/").status_code == 200
    response = client.post(
        admin_change_path("tenants.service", own.pk),
        {"tenant": tenant.pk, "code": "own", "name": "Hacked", "interaction_kind": "regulatory"},
    )
    assert response.status_code == 403
    with all_tenants():
        assert Service.objects.get(pk=own.pk).name == "Own service"


def test_superuser_sees_every_agency(admin_client, services_of_two):
    page = admin_client.get("/admin/tenants/service/").content.decode()
    assert "Own service" in page and "Foreign service" in page


def test_admin_key_creation_shows_the_secret_once(admin_client, tenant):
    response = admin_client.post(
        "/admin/tenants/apikey/add/",
        {"tenant": tenant.pk, "name": "Billing system", "scopes": ["payments:read"]},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "hk_" in body
    with all_tenants():
        key = tenant_key = None
        from tenants.models import ApiKey

        key = ApiKey.objects.get(name="Billing system")
        tenant_key = key.tenant
    assert tenant_key == tenant and key.scopes == ["payments:read"]
    listing = admin_client.get(admin_change_path("tenants.apikey", key.pk)).content.decode()
    secret = body.split("<code>")[1].split("</code>")[0]
    assert secret.startswith(f"hk_{key.prefix}_")
    assert secret not in listing


def test_auditor_sees_own_audit_trail_only(client, tenant, other_tenant, api, other_api):
    api.post("/api/v1/services", {"code": "x", "name": "X", "interaction_kind": "regulatory"})
    other_api.post("/api/v1/services", {"code": "y", "name": "Y", "interaction_kind": "regulatory"})
    client.force_login(staff(tenant, StaffMembership.Role.AUDITOR))
    page = client.get("/admin/hub/auditentry/").content.decode()
    assert page.count("POST /api/v1/services") == 1
    assert api.api_key.prefix in page and other_api.api_key.prefix not in page


def test_login_page_renders_for_anonymous_visitors(client):
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/admin/").status_code == 302
