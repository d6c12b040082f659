"""Agency staff: the roles that let a user see one agency in the admin (django-guardian)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from tenants.models import StaffMembership, Tenant
from tenants.scope import all_tenants

ROLE_PERMISSIONS = {
    StaffMembership.Role.AGENCY_ADMIN: "tenants.act_as_agency_admin",
    StaffMembership.Role.FINANCE: "tenants.act_as_finance",
    StaffMembership.Role.CASEWORKER: "tenants.act_as_caseworker",
    StaffMembership.Role.AUDITOR: "tenants.act_as_auditor",
}


@transaction.atomic
def grant_role(*, tenant: Tenant, user, role: str) -> StaffMembership:
    """Make ``user`` agency staff with ``role``; the admin then shows them this agency."""
    # Staff roles are granted from the hub admin (every agency); the row names its tenant.
    with all_tenants():
        membership, _ = StaffMembership.objects.get_or_create(tenant=tenant, user=user, role=role)
    assign_perm(ROLE_PERMISSIONS[role], user, tenant)
    assign_perm("tenants.view_tenant", user, tenant)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@transaction.atomic
def revoke_role(*, membership: StaffMembership) -> None:
    tenant, user, role = membership.tenant, membership.user, membership.role
    # Staff roles are revoked from the hub admin (every agency).
    with all_tenants():
        membership.delete()
        remaining = StaffMembership.objects.filter(tenant=tenant, user=user)
        remove_perm(ROLE_PERMISSIONS[role], user, tenant)
        if not remaining.exists():
            remove_perm("tenants.view_tenant", user, tenant)


def create_staff_user(*, username: str, email: str, password: str):
    return get_user_model().objects.create_user(
        username=username, email=email, password=password, is_staff=True
    )
