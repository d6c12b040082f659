import pytest
from django.db import IntegrityError, transaction

from tenants import services
from tenants.models import Service
from tenants.scope import all_tenants

pytestmark = pytest.mark.django_db


def _create(tenant, code="permit", name="Permit"):
    return services.create_service(
        tenant=tenant, code=code, name=name, interaction_kind="regulatory"
    )


def test_a_code_the_agency_already_uses_is_refused_and_nothing_changes(tenant):
    first = _create(tenant)
    with pytest.raises(services.DuplicateServiceCode):
        _create(tenant, name="Another permit")
    with all_tenants():
        assert list(Service.objects.filter(tenant=tenant).values_list("pk", "name")) == [
            (first.pk, "Permit")
        ]


def test_another_agency_may_use_the_same_code(tenant, other_tenant):
    _create(tenant)
    theirs = _create(other_tenant)
    assert theirs.tenant == other_tenant


def test_a_concurrent_duplicate_leaves_the_callers_transaction_usable(tenant, monkeypatch):
    """The existence check passes (as for a request racing another) and the unique
    constraint refuses the row: the caller gets the domain error inside a savepoint."""
    _create(tenant)
    real_filter = Service.objects.filter

    class NothingThere:
        def exists(self):
            return False

    monkeypatch.setattr(Service.objects, "filter", lambda **kw: NothingThere())
    with transaction.atomic():
        with pytest.raises(services.DuplicateServiceCode) as raised:
            _create(tenant)
        assert isinstance(raised.value.__cause__, IntegrityError)
        monkeypatch.setattr(Service.objects, "filter", real_filter)
        with all_tenants():
            assert Service.objects.filter(tenant=tenant).count() == 1
