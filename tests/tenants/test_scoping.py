import pytest
from asgiref.sync import async_to_sync

from tenants import scope, services
from tenants.models import Service
from tenants.scope import (
    ScopeError,
    ScopeSwitchError,
    acting_for,
    all_tenants,
    current_tenant,
    tenant_scope,
)

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


def test_scopes_nest_and_unwind_from_all_tenants(two_services, tenant, other_tenant):
    with all_tenants():
        with tenant_scope(tenant):
            assert current_tenant() == tenant
        with tenant_scope(other_tenant):
            assert list(Service.objects.all()) == [two_services[1]]
        assert current_tenant() is None
        assert Service.objects.count() == 2
    assert scope.current_scope() is None


def test_a_switch_from_one_tenant_to_another_is_refused(two_services, tenant, other_tenant):
    refused = pytest.raises(
        ScopeSwitchError, match="scoped to tax-office, asked to act for vehicles"
    )
    with tenant_scope(tenant):
        with refused, tenant_scope(other_tenant):
            pytest.fail("the other tenant's scope must not open")
        # The refusal left the outer scope as it was.
        assert current_tenant() == tenant
        assert list(Service.objects.all()) == [two_services[0]]


def test_acting_for_a_foreign_object_is_refused(tenant, other_tenant):
    with tenant_scope(tenant), pytest.raises(ScopeSwitchError), acting_for(other_tenant):
        pass


def test_activate_refuses_the_switch_too(tenant, other_tenant):
    token = scope.activate(tenant)
    try:
        with pytest.raises(ScopeSwitchError):
            scope.activate(other_tenant)
        assert current_tenant() == tenant
    finally:
        scope.deactivate(token)


def test_reentering_the_same_tenant_is_no_switch(tenant):
    with tenant_scope(tenant), acting_for(tenant), tenant_scope(tenant):
        assert current_tenant() == tenant
    assert current_tenant() is None


def test_a_tenant_scope_needs_a_tenant():
    with pytest.raises(ScopeError, match="needs a tenant"), tenant_scope(None):
        pass


async def _collect(queryset):
    return [row async for row in queryset.aiterator()]


def test_aiterator_outside_a_scope_raises(two_services):
    with pytest.raises(ScopeError, match="Service is tenant-owned"):
        async_to_sync(_collect)(Service.objects.all())


def test_aiterator_in_a_scope_reads_only_the_tenant(two_services, tenant):
    with tenant_scope(tenant):
        assert async_to_sync(_collect)(Service.objects.order_by("code")) == [two_services[0]]
    with all_tenants():
        assert len(async_to_sync(_collect)(Service.objects.all())) == 2


def test_following_a_foreign_key_needs_no_scope(two_services, tenant):
    mine, _ = two_services
    assert mine.tenant == tenant  # _base_manager, not the scoped one
