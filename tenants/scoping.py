"""The fail-closed base for every tenant-owned model.

The scope is read when a queryset is made (``Model.objects…``), as django-scopes does.
Outside any scope the queryset still builds (libraries such as django-filter build
querysets at import time to inspect fields) but raises ``ScopeError`` the moment it
would touch the database, directly or as a subquery.
"""

from django.db import models

from tenants.scope import ALL_TENANTS, ScopeError, current_scope


class TenantScopedQuerySet(models.QuerySet):
    _unscoped = False

    def _guard(self) -> None:
        if self._unscoped:
            raise ScopeError(
                f"{self.model.__name__} is tenant-owned: query it inside tenant_scope() "
                "or, for cross-tenant work, all_tenants()"
            )

    def _clone(self):
        clone = super()._clone()
        clone._unscoped = self._unscoped
        return clone

    def _fetch_all(self):
        self._guard()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._guard()
        return super().iterator(*args, **kwargs)

    async def aiterator(self, *args, **kwargs):
        # Django's aiterator reads through the iterable class directly, bypassing
        # iterator() and _fetch_all(); without this an async loop reads every tenant.
        self._guard()
        async for row in super().aiterator(*args, **kwargs):
            yield row

    def count(self):
        self._guard()
        return super().count()

    def exists(self):
        self._guard()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._guard()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._guard()
        return super().update(**kwargs)

    def delete(self):
        self._guard()
        return super().delete()

    def create(self, **kwargs):
        self._guard()
        return super().create(**kwargs)

    def bulk_create(self, *args, **kwargs):
        self._guard()
        return super().bulk_create(*args, **kwargs)

    def bulk_update(self, *args, **kwargs):
        self._guard()
        return super().bulk_update(*args, **kwargs)

    def in_bulk(self, *args, **kwargs):
        self._guard()
        return super().in_bulk(*args, **kwargs)

    def contains(self, obj):
        self._guard()
        return super().contains(obj)

    def resolve_expression(self, *args, **kwargs):
        self._guard()  # used as a subquery: it would read every tenant's rows
        return super().resolve_expression(*args, **kwargs)


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """Filters to the current tenant; unusable when there is no scope at all.

    Django uses ``_base_manager`` (a plain Manager) for foreign-key access and
    cascades, so following ``payment.tenant`` or deleting a row's parent still works.
    """

    def get_queryset(self):
        scope = current_scope()
        queryset = super().get_queryset()
        if scope is None:
            queryset._unscoped = True
            return queryset
        if scope is ALL_TENANTS:
            return queryset
        return queryset.filter(tenant=scope)

    # An INSERT has no WHERE clause: the tenant filter get_queryset() builds would be
    # thrown away, and building it is most of what ``Model.objects.create()`` costs
    # beyond the INSERT itself. The guard stays: outside any scope these still raise.
    # (Which tenant a new row belongs to is its ``tenant`` field, as before.)

    def _unfiltered_queryset(self):
        queryset = super().get_queryset()
        if current_scope() is None:
            queryset._unscoped = True
        return queryset

    def create(self, **kwargs):
        return self._unfiltered_queryset().create(**kwargs)

    def bulk_create(self, *args, **kwargs):
        return self._unfiltered_queryset().bulk_create(*args, **kwargs)


class TenantOwnedModel(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantScopedManager()

    class Meta:
        abstract = True
