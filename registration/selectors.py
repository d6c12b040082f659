"""Reads of the registry. An agency sees a constituent only through its own active
registration: every read here takes the agency and filters by it."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet

from hub.crypto import keyed_hash
from registration.models import Constituent, FieldAccess, Registration
from tenants.models import Tenant
from tenants.scope import all_tenants

IDENTIFIER_HASH_PURPOSE = "constituent-identifier"


def identifier_hash(scheme: str, normalised_value: str) -> str:
    return keyed_hash(f"{scheme}:{normalised_value}", purpose=IDENTIFIER_HASH_PURPOSE)


def visible_constituents(tenant: Tenant) -> QuerySet[Constituent]:
    return Constituent.objects.filter(
        registrations__tenant=tenant, registrations__status=Registration.Status.ACTIVE
    ).prefetch_related("identifiers")


def visible_constituent(tenant: Tenant, constituent_id: str) -> Constituent | None:
    return visible_constituents(tenant).filter(pk=constituent_id).first()


def active_registration(tenant: Tenant, constituent: Constituent) -> Registration | None:
    # Asked from any scope (the registering agency's request, a cross-agency fan-out);
    # the query names the tenant, so no other agency's row is read.
    with all_tenants():
        return Registration.objects.filter(
            tenant=tenant, constituent=constituent, status=Registration.Status.ACTIVE
        ).first()


def registered_tenants(constituent: Constituent) -> list[Tenant]:
    """Every agency with an active registration: who hears about this person."""
    # Who is registered for a person spans agencies by definition: the life-event
    # fan-out tells each of them.
    with all_tenants():
        return list(
            Tenant.objects.filter(
                pk__in=Registration.objects.filter(
                    constituent=constituent, status=Registration.Status.ACTIVE
                ).values("tenant_id")
            ).order_by("slug")
        )


# The optional fields of the shared record; the rest (id, kind, name, status, the dates
# of death or cessation) every registered agency sees.
OPTIONAL_FIELDS = tuple(FieldAccess.Field.values)


def default_visible_fields() -> frozenset[str]:
    return frozenset(getattr(settings, "HUB_REGISTRY_DEFAULT_VISIBLE_FIELDS", ()))


def visible_fields(tenant: Tenant) -> frozenset[str]:
    """The optional fields of the shared record this agency is authorised to see."""
    return visible_fields_of([tenant.pk])[tenant.pk]


def visible_fields_of(tenant_ids: Iterable[str]) -> dict[str, frozenset[str]]:
    """The authorised fields of several agencies with one query (a fan-out)."""
    tenant_ids = list(tenant_ids)
    granted = dict(
        FieldAccess.objects.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", "visible_fields"
        )
    )
    default = default_visible_fields()
    return {
        pk: frozenset(granted[pk]) & frozenset(OPTIONAL_FIELDS) if pk in granted else default
        for pk in tenant_ids
    }


def without_unauthorised_fields(values: dict, fields: frozenset[str]) -> dict:
    """``values`` (fields of a constituent, by name) less the optional ones not granted."""
    return {
        name: value
        for name, value in values.items()
        if name not in OPTIONAL_FIELDS or name in fields
    }


def constituent_language(constituent_id: str) -> str:
    """The language the constituent reads the hub in; "" when not known."""
    return (
        Constituent.objects.filter(pk=constituent_id).values_list("language", flat=True).first()
        or ""
    )
