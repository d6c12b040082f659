import pytest

from tenants import services
from tenants.models import Tenant
from tenants.selectors import active_tenants

pytestmark = pytest.mark.django_db


def test_active_tenants_leaves_out_suspended_agencies_in_slug_order(make_tenant):
    zulu = make_tenant("zulu")
    alpha = make_tenant("alpha")
    suspended = make_tenant("mike")
    services.set_tenant_status(tenant=suspended, status=Tenant.Status.SUSPENDED)

    assert active_tenants() == [alpha, zulu]

    services.set_tenant_status(tenant=suspended, status=Tenant.Status.ACTIVE)
    assert active_tenants() == [alpha, suspended, zulu]
