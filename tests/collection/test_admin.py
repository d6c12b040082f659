"""The collections admin: every screen renders, write-off and pausing by the right roles,
bank files downloadable by the agency's own staff only, account numbers never shown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from lxml import etree

from collection.models import CollectionSettings, Debt
from collection.services import runs
from tenants import services
from tenants.scope import tenant_scope
from tests.collection.conftest import Collections
from tests.support.admin_urls import admin_change_path

pytestmark = pytest.mark.django_db

PAGES = [
    "collectionsettings",
    "debt",
    "paymentplan",
    "instalment",
    "mandate",
    "collectionrun",
    "returnfile",
    "returnedattempt",
    "dunningnotice",
]


def staff(tenant, role: str, name: str):
    user = get_user_model().objects.create_user(username=name, password="pw-123456789")
    services.grant_role(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def completed_run(tenant, collections):
    debt, mandate, plan = collections.debt_in_plan()
    with tenant_scope(tenant):
        run = runs.start_run(
            tenant=tenant, run_date=dt.date(2024, 2, 29), trigger="api", enqueue=False
        )
        return debt, mandate, plan, runs.process_run(run=run)


def test_every_screen_renders_and_account_numbers_stay_masked(admin_client, completed_run):
    debt, mandate, plan, _run = completed_run
    for page in PAGES:
        response = admin_client.get(f"/admin/collection/{page}/")
        assert response.status_code == 200, page
    detail = admin_client.get(admin_change_path("collection.mandate", mandate.pk)).content.decode()
    assert mandate.account_masked in detail
    assert mandate.iban not in detail
    listing = admin_client.get("/admin/collection/mandate/").content.decode()
    assert mandate.iban not in listing
    plan_page = admin_client.get(admin_change_path("collection.paymentplan", plan.pk))
    assert plan_page.status_code == 200 and b"1 Apr 2024" in plan_page.content  # the schedule
    assert admin_client.get(admin_change_path("collection.debt", debt.pk)).status_code == 200


def test_agency_staff_download_their_own_bank_file_only(
    client, tenant, other_tenant, completed_run
):
    run = completed_run[-1]
    own = staff(tenant, "finance", "own-finance")
    client.force_login(own)
    response = client.get(f"/admin/collection/collectionrun/{run.pk}/file/")
    assert response.status_code == 200
    document = etree.fromstring(b"".join(response.streaming_content))
    assert document.findtext(".//{*}MsgId") == run.file_message_id
    assert run.file_message_id in client.get("/admin/collection/collectionrun/").content.decode()

    client.force_login(staff(other_tenant, "finance", "their-finance"))
    assert client.get(f"/admin/collection/collectionrun/{run.pk}/file/").status_code == 404


def _write_off(client, debt, reason="estate has no assets"):
    return client.post(
        "/admin/collection/debt/",
        {"action": "write_off", "_selected_action": [debt.pk], "apply": "1", "reason": reason},
    )


def test_finance_writes_off_with_a_reason_and_a_caseworker_cannot(client, tenant, collections):
    debt = collections.debt()
    client.force_login(staff(tenant, "caseworker", "case"))
    _write_off(client, debt)
    with tenant_scope(tenant):
        assert Debt.objects.get(pk=debt.pk).state == Debt.State.OPEN

    client.force_login(staff(tenant, "finance", "fin"))
    form = client.post(
        "/admin/collection/debt/", {"action": "write_off", "_selected_action": [debt.pk]}
    )
    assert form.status_code == 200 and b"reason" in form.content
    done = _write_off(client, debt)
    assert done.status_code == 302
    with tenant_scope(tenant):
        debt.refresh_from_db()
    assert debt.state == Debt.State.WRITTEN_OFF
    assert debt.write_off_reason == "estate has no assets"
    assert debt.written_off_by == "staff:fin"


def test_agency_admin_pauses_and_resumes_runs(client, tenant, other_tenant, collections):
    Collections(other_tenant)
    client.force_login(staff(tenant, "agency_admin", "boss"))
    with tenant_scope(tenant):
        settings = CollectionSettings.objects.get()
    response = client.post(
        "/admin/collection/collectionsettings/",
        {"action": "pause_runs", "_selected_action": [settings.pk]},
    )
    assert response.status_code == 302
    settings.refresh_from_db()
    assert settings.runs_paused and settings.paused_reason == "paused by boss"
    # Another agency's settings are not even listed for this admin.
    listing = client.get("/admin/collection/collectionsettings/").content.decode()
    assert other_tenant.name not in listing
    client.post(
        "/admin/collection/collectionsettings/",
        {"action": "resume_runs", "_selected_action": [settings.pk]},
    )
    settings.refresh_from_db()
    assert not settings.runs_paused


def test_settings_form_validates_creditor_details_and_the_ladder(tenant, collections):
    from django.core.exceptions import ValidationError

    settings = collections.settings
    settings.creditor_id = "DE98ZZZ09999999998"
    settings.dunning_ladder = [
        {"step": "reminder", "after_days": 5},
        {"step": "x", "after_days": 2},
    ]
    with tenant_scope(tenant), pytest.raises(ValidationError) as raised:
        settings.full_clean()
    assert set(raised.value.message_dict) == {"creditor_id", "dunning_ladder"}


def test_a_caseworker_sees_the_plans_and_instalments_inside_a_debt_and_a_plan(
    client, tenant, completed_run
):
    debt, _mandate, plan, _run = completed_run
    client.force_login(staff(tenant, "caseworker", "case"))

    debt_page = client.get(admin_change_path("collection.debt", debt.pk)).content.decode()
    plan_page = client.get(admin_change_path("collection.paymentplan", plan.pk)).content.decode()

    assert plan.pk in debt_page  # the plan inline
    assert "1 Apr 2024" in plan_page  # the instalment inline: the schedule


def test_the_settings_page_offers_the_bank_file_format(client, tenant, collections):
    client.force_login(staff(tenant, "agency_admin", "fmt-admin"))
    page = client.get(admin_change_path("collection.collectionsettings", collections.settings.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="pain008_version"' in html
    assert 'value="pain.008.001.08" selected' in html  # the default
    assert 'value="pain.008.001.02"' in html
    with tenant_scope(tenant):
        assert CollectionSettings.objects.get().pain008_version == "pain.008.001.08"
