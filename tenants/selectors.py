"""Reads about agencies that more than one caller needs."""

from __future__ import annotations

from guardian.shortcuts import get_objects_for_user

from tenants.models import Tenant
from tenants.services import ROLE_PERMISSIONS


def tenants_for_user(user, roles: list[str] | None = None):
    """The agencies whose records ``user`` may see in the admin (all, for superusers)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Tenant.objects.none()
    if user.is_superuser:
        return Tenant.objects.all()
    perms = [ROLE_PERMISSIONS[role] for role in (roles or ROLE_PERMISSIONS)]
    return get_objects_for_user(user, perms, klass=Tenant, any_perm=True, accept_global_perms=False)


def user_has_role(user, tenant: Tenant, roles: list[str]) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return any(user.has_perm(ROLE_PERMISSIONS[role], tenant) for role in roles)


def active_tenants() -> list[Tenant]:
    """The agencies a scheduled job fans out over: active ones, in a stable order.

    A suspended agency's jobs stop (no collections, no reconciliation runs) until it is
    reactivated. ``Tenant`` is not tenant-owned, so no scope is needed to read it.
    """
    return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("slug"))
