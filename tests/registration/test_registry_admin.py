import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from registration.models import Constituent, FieldAuthority
from tenants import services
from tests.registration.conftest import person_body
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db


def test_admin_shows_identifiers_masked_and_only_own_constituents(client, api, other_api, bsn):
    mine = api.post("/api/v1/constituents", person_body(bsn, name="Mine Person")).json()["id"]
    other_api.post("/api/v1/constituents", person_body(name="Their Person"))
    user = get_user_model().objects.create_user(username="case", password="pw-123456789")
    services.grant_role(tenant=api.tenant, user=user, role="caseworker")
    client.force_login(user)
    listing = client.get("/admin/registration/constituent/").content.decode()
    assert "Mine Person" in listing and "Their Person" not in listing
    assert bsn not in listing and bsn[-3:] in listing
    detail = client.get(admin_change_path("registration.constituent", mine)).content.decode()
    assert bsn not in detail
    theirs = Constituent.objects.get(name="Their Person")
    assert client.get(admin_change_path("registration.constituent", theirs.pk)).status_code in (
        302,
        403,
        404,
    )


def test_life_event_admin_lists_where_it_was_delivered(admin_client, api, bsn):
    from hub.events import dispatch, endpoints

    endpoints.create_endpoint(
        tenant=api.tenant, url="http://127.0.0.1:9/hook", event_types=["constituent.life_event"]
    )
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    event = api.post(
        f"/api/v1/constituents/{con}/life-events", {"kind": "death", "occurred_on": "2025-01-01"}
    ).json()
    later = timezone.now() + dispatch.SWEEP_GRACE
    for event_id in dispatch.undispatched_event_ids(now=later):
        dispatch.dispatch_event(event_id)
    page = admin_client.get(admin_change_path("registration.lifeevent", event["id"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert api.tenant.name in html  # the report
    assert f"{api.tenant.slug} → http://127.0.0.1:9/hook: pending" in html


def test_agency_staff_see_their_own_agencys_part_of_a_life_event_only(client, api, other_api, bsn):
    from hub.events import dispatch, endpoints

    for agency in (api, other_api):
        endpoints.create_endpoint(
            tenant=agency.tenant,
            url=f"http://127.0.0.1:9/{agency.tenant.slug}-hook",
            event_types=["constituent.life_event"],
        )
        agency.post("/api/v1/constituents", person_body(bsn))
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    death = {"kind": "death", "occurred_on": "2025-01-01"}
    for n, agency in enumerate((api, other_api)):
        event = agency.post(
            f"/api/v1/constituents/{con}/life-events", {**death, "agency_reference": f"CASE-{n}"}
        ).json()
    later = timezone.now() + dispatch.SWEEP_GRACE
    for event_id in dispatch.undispatched_event_ids(now=later):
        dispatch.dispatch_event(event_id)
    user = get_user_model().objects.create_user(username="case", password="pw-123456789")
    services.grant_role(tenant=api.tenant, user=user, role="caseworker")
    client.force_login(user)

    page = client.get(admin_change_path("registration.lifeevent", event["id"]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "CASE-0" in html  # the agency's own report
    assert "CASE-1" not in html and other_api.tenant.name not in html
    assert f"{other_api.tenant.slug}-hook" not in html  # another agency's endpoint


def test_operator_renders_and_sets_field_authorities(admin_client, tenant):
    listing = admin_client.get("/admin/registration/fieldauthority/")
    assert listing.status_code == 200
    assert admin_client.get("/admin/registration/fieldauthority/add/").status_code == 200
    added = admin_client.post(
        "/admin/registration/fieldauthority/add/", {"field": "address", "tenant": tenant.pk}
    )
    assert added.status_code == 302, added.content
    authority = FieldAuthority.objects.get(field="address")
    assert authority.tenant == tenant
    listing = admin_client.get("/admin/registration/fieldauthority/").content.decode()
    assert "address" in listing
    change = admin_client.get(admin_change_path("registration.fieldauthority", str(authority.pk)))
    assert change.status_code == 200
    assert tenant.name in change.content.decode()


def test_agency_staff_cannot_open_field_authorities(client, tenant):
    user = get_user_model().objects.create_user(username="agadmin", password="pw-123456789")
    services.grant_role(tenant=tenant, user=user, role="agency_admin")
    client.force_login(user)
    assert client.get("/admin/registration/fieldauthority/").status_code == 403
    added = client.post(
        "/admin/registration/fieldauthority/add/", {"field": "address", "tenant": tenant.pk}
    )
    assert added.status_code == 403
    assert not FieldAuthority.objects.exists()
