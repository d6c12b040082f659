"""Agencies and the services they offer."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tenants.models import Language, Service, Tenant
from tenants.scope import all_tenants


@transaction.atomic
def create_tenant(
    *,
    slug: str,
    name: str,
    default_currency: str = "EUR",
    contact_email: str = "",
    default_language: str = Language.ENGLISH,
) -> Tenant:
    if default_language not in Language.values:
        raise ValueError(f"Unknown language {default_language!r}: one of {Language.values}")
    return Tenant.objects.create(
        slug=slug,
        name=name,
        default_currency=default_currency.upper(),
        contact_email=contact_email,
        default_language=default_language,
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
