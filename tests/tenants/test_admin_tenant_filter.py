"""The agency filter of every admin list offers agency staff only their own agencies
(Django's filter lists every agency: staff read the names of all the others)."""

import pytest
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from tenants import services
from tenants.admin_scoping import _points_at_tenant
from tenants.models import StaffMembership, Tenant
from tenants.scope import all_tenants

pytestmark = pytest.mark.django_db
FOREIGN_NAME = "Zebra Licensing Authority"


def filters_on_tenant(model_admin) -> list:
    found = []
    for entry in model_admin.list_filter:
        name = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(name, str) and _points_at_tenant(model_admin.model, name):
            found.append(name)
    return found


ADMINS_WITH_TENANT_FILTER = [
    model_admin for model_admin in admin.site._registry.values() if filters_on_tenant(model_admin)
]


@pytest.fixture
def agency_staff(tenant, other_tenant, make_tenant):
    """Staff of two agencies (with one, Django hides the filter altogether)."""
    make_tenant("zebra", name=FOREIGN_NAME)
    user = get_user_model().objects.create_user(username="agent", password="pw-123456789")
    for agency in (tenant, other_tenant):
        for role in StaffMembership.Role.values:
            services.grant_role(tenant=agency, user=user, role=role)
    return user


def test_the_walk_finds_the_admins_with_a_tenant_filter():
    assert len(ADMINS_WITH_TENANT_FILTER) >= 20


@pytest.mark.parametrize(
    "model_admin",
    ADMINS_WITH_TENANT_FILTER,
    ids=[a.model._meta.label for a in ADMINS_WITH_TENANT_FILTER],
)
def test_agency_staff_see_only_their_agencies_in_the_tenant_filter(
    client, tenant, other_tenant, agency_staff, model_admin
):
    meta = model_admin.model._meta
    client.force_login(agency_staff)
    page = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert FOREIGN_NAME not in html
    assert other_tenant.name in html  # the filter is shown, with the user's agencies

    request = RequestFactory().get("/admin/")
    request.user = agency_staff
    with all_tenants():  # as the admin runs (TenantScopeMiddleware opts it out)
        changelist = model_admin.get_changelist_instance(request)
    tenant_filters = [
        spec
        for spec in changelist.filter_specs
        if isinstance(spec, RelatedFieldListFilter) and spec.field.related_model is Tenant
    ]
    assert tenant_filters, "the list's tenant filter is there"
    for spec in tenant_filters:
        assert sorted(pk for pk, _ in spec.lookup_choices) == sorted([tenant.pk, other_tenant.pk])


def test_superusers_still_filter_by_every_agency(client, tenant, make_tenant):
    make_tenant("zebra", name=FOREIGN_NAME)
    operator = get_user_model().objects.create_superuser(username="op", password="pw-123456789")
    client.force_login(operator)
    html = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert FOREIGN_NAME in html and tenant.name in html
