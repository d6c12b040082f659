"""The admin base every app's tenant-owned ModelAdmin uses.

Hub superusers see every agency. Agency staff see and change only the agencies where
django-guardian grants them a role, and only the models their role covers.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist

from tenants.models import StaffMembership, Tenant
from tenants.selectors import tenants_for_user

Role = StaffMembership.Role
ALL_ROLES = tuple(Role.values)


class OwnTenantsListFilter(admin.RelatedFieldListFilter):
    """The agency filter of a list, offering only the agencies the user may see there.

    Django's own filter lists every row of the related table: agency staff would read
    every other agency's name in it."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        if request.user.is_superuser:
            return field.get_choices(include_blank=False, ordering=ordering)
        roles = list(getattr(model_admin, "view_roles", ALL_ROLES))
        allowed = tenants_for_user(request.user, roles).values("pk")
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": allowed}, ordering=ordering
        )


def _points_at_tenant(model, path: str) -> bool:
    try:
        fields = get_fields_from_path(model, path)
    except (FieldDoesNotExist, LookupError, AttributeError):
        return False
    return getattr(fields[-1], "related_model", None) is Tenant


class TenantScopedAdmin(admin.ModelAdmin):
    view_roles: tuple[str, ...] = ALL_ROLES
    change_roles: tuple[str, ...] = (Role.AGENCY_ADMIN,)
    tenant_field = "tenant"

    def _allowed_tenants(self, request, roles):
        return tenants_for_user(request.user, list(roles))

    def _has_role(self, request, roles, obj=None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        allowed = self._allowed_tenants(request, roles)
        if obj is None:
            return allowed.exists()
        return allowed.filter(pk=self._tenant_of(obj).pk).exists()

    def _tenant_of(self, obj):
        for part in self.tenant_field.split("__"):
            obj = getattr(obj, part)
        return obj

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.tenant_field}__in": self._allowed_tenants(request, self.view_roles)}
        )

    def has_module_permission(self, request):
        return self._has_role(request, self.view_roles)

    def has_view_permission(self, request, obj=None):
        return self._has_role(request, self.view_roles + self.change_roles, obj)

    def has_change_permission(self, request, obj=None):
        return self._has_role(request, self.change_roles, obj)

    def has_add_permission(self, request):
        return self._has_role(request, self.change_roles)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_list_filter(self, request):
        """Every filter on an agency (``"tenant"``, ``"payment__tenant"``) offers only
        the user's agencies."""
        return [
            (entry, OwnTenantsListFilter)
            if isinstance(entry, str) and _points_at_tenant(self.model, entry)
            else entry
            for entry in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant" and not request.user.is_superuser:
            kwargs["queryset"] = self._allowed_tenants(request, self.change_roles)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyTenantScopedAdmin(TenantScopedAdmin):
    """Records written only by services (payments, events, audit): look, never edit."""

    change_roles = ()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown inside their parent's page, read-only (services write them): whoever
    may view the parent sees them.

    Agency staff hold roles on their agency (django-guardian), not Django's model
    permissions, so Django's default check (a model permission) hid every inline from
    them. The parent's admin already checks the role and the agency."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_view_permission(self, request, obj=None):
        return self.admin_site.get_model_admin(self.parent_model).has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
