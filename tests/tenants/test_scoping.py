import pytest

from tenants import services
from tenants.models import Service
from tenants.scope import ScopeError, all_tenants, current_tenant, tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_services(tenant, other_tenant):
    mine = services.create_service(tenant=tenant, code="a", name="A", interaction_kind="regulatory")
    theirs = services.create_service(
        tenant=other_tenant, code="b", name="B", interaction_kind="proactive"
    )
    return mine, theirs


def test_query_outside_a_scope_raises(two_services):
    with pytest.raises(ScopeError):
        list(Service.objects.all())
    with pytest.raises(ScopeError):
        Service.objects.count()
    with pytest.raises(ScopeError):
        Service.objects.filter(code="a").exists()
    with pytest.raises(ScopeError):
        Service.objects.update(name="changed")
    with pytest.raises(ScopeError):
        Service.objects.get(code="a")


def test_unscoped_queryset_as_a_subquery_raises(two_services, tenant):
    from tenants.models import Tenant

    with pytest.raises(ScopeError):
        list(Tenant.objects.filter(pk__in=Service.objects.values("tenant")))


def test_scope_limits_rows_to_the_tenant(two_services, tenant, other_tenant):
    mine, theirs = two_services
    with tenant_scope(tenant):
        assert list(Service.objects.all()) == [mine]
        assert not Service.objects.filter(pk=theirs.pk).exists()
        assert current_tenant() == tenant
    with tenant_scope(other_tenant):
        assert list(Service.objects.all()) == [theirs]


def test_all_tenants_is_the_explicit_opt_out(two_services):
    with all_tenants():
        assert Service.objects.count() == 2
        assert current_tenant() is None


def test_scopes_nest_and_unwind(two_services, tenant, other_tenant):
    with tenant_scope(tenant):
        with tenant_scope(other_tenant):
            assert current_tenant() == other_tenant
        assert current_tenant() == tenant
    assert current_tenant() is None


def test_following_a_foreign_key_needs_no_scope(two_services, tenant):
    mine, _ = two_services
    assert mine.tenant == tenant  # _base_manager, not the scoped one
