"""Every write to agencies, services, API keys and staff goes through here."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from tenants.models import ApiKey, Service, StaffMembership, Tenant
from tenants.scope import all_tenants

KEY_PREFIX = "hk_"
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
# A key's last_used_at is refreshed at most this often: one write per request would
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

ROLE_PERMISSIONS = {
    StaffMembership.Role.AGENCY_ADMIN: "tenants.act_as_agency_admin",
    StaffMembership.Role.FINANCE: "tenants.act_as_finance",
    StaffMembership.Role.CASEWORKER: "tenants.act_as_caseworker",
    StaffMembership.Role.AUDITOR: "tenants.act_as_auditor",
}


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its secret. The secret exists only here: show it once."""

    api_key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> tuple[str, str]:
    prefix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def create_tenant(
    *, slug: str, name: str, default_currency: str = "EUR", contact_email: str = ""
) -> Tenant:
    return Tenant.objects.create(
        slug=slug, name=name, default_currency=default_currency.upper(), contact_email=contact_email
    )


def set_tenant_status(*, tenant: Tenant, status: str) -> Tenant:
    tenant.status = status
    tenant.save(update_fields=["status"])
    return tenant


class DuplicateServiceCode(ValueError):
    """The agency already has a service with this code (the API answers 409)."""


def create_service(*, tenant: Tenant, code: str, name: str, interaction_kind: str) -> Service:
    """Add a service; a code the agency already uses raises ``DuplicateServiceCode``."""
    # Services are set up from the admin, commands and the demo, with no scope open;
    # the row is created for the tenant named.
    with all_tenants():
        if Service.objects.filter(tenant=tenant, code=code).exists():
            raise DuplicateServiceCode(code)
        try:
            # A savepoint: a concurrent create with the same code fails here on the
            # unique constraint, and the caller's transaction stays usable.
            with transaction.atomic():
                return Service.objects.create(
                    tenant=tenant, code=code, name=name, interaction_kind=interaction_kind
                )
        except IntegrityError as exc:
            raise DuplicateServiceCode(code) from exc


def issue_api_key(*, tenant: Tenant, name: str, scopes: list[str] | None = None) -> IssuedKey:
    scopes = list(ApiKey.Scope.values) if scopes is None else list(scopes)
    unknown = sorted(set(scopes) - set(ApiKey.Scope.values))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    prefix, secret = _new_secret()
    # Keys are issued from the admin and commands, before any scope exists; the row
    # names its tenant.
    with all_tenants():
        api_key = ApiKey.objects.create(
            tenant=tenant, name=name, prefix=prefix, secret_hash=hash_secret(secret), scopes=scopes
        )
    return IssuedKey(api_key=api_key, secret=secret)


def find_api_key(secret: str) -> ApiKey | None:
    """One indexed lookup by hash; the tenant comes along in the same query."""
    if not secret.startswith(KEY_PREFIX):
        return None
    # Authentication: the key is what tells us the tenant, so no scope can be set yet.
    with all_tenants():
        return (
            ApiKey.objects.select_related("tenant").filter(secret_hash=hash_secret(secret)).first()
        )


def touch_api_key(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    # Runs during authentication, before the key's tenant scope is set.
    with all_tenants():
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def rotate_api_key(*, api_key: ApiKey, overlap: timedelta = DEFAULT_ROTATION_OVERLAP) -> IssuedKey:
    """A new key with the same scopes; the old one keeps working for ``overlap``.

    The overlap lets an agency deploy the new secret before the old one stops.
    """
    if not api_key.is_usable():
        raise ValueError("a revoked or expired key cannot be rotated")
    issued = issue_api_key(tenant=api_key.tenant, name=api_key.name, scopes=api_key.scopes)
    api_key.expires_at = timezone.now() + overlap
    api_key.replaced_by = issued.api_key
    api_key.save(update_fields=["expires_at", "replaced_by"])
    return issued


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
