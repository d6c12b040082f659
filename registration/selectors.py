"""Reads of the registry. An agency sees a constituent only through its own active
registration: every read here takes the agency and filters by it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from hub.crypto import keyed_hash
from registration.models import (
    Constituent,
    FieldAccess,
    LifeEvent,
    LifeEventNotice,
    LifeEventOffer,
    LifeEventReport,
    LifeEventResponse,
    Registration,
)
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


# Life-event facts that are a field of the person under another name: a divorce's
# ``new_address`` is the person's address, and is shown only where the address is.
FACTS_AS_FIELDS = {"new_address": "address"}


def without_unauthorised_fields(values: dict, fields: frozenset[str]) -> dict:
    """``values`` (fields of a constituent, or a life event's facts, by name) less the
    optional ones not granted."""
    shown = {}
    for name, value in values.items():
        field = FACTS_AS_FIELDS.get(name, name)
        if field not in OPTIONAL_FIELDS or field in fields:
            shown[name] = value
    return shown


def constituent_language(constituent_id: str) -> str:
    """The language the constituent reads the hub in; "" when not known."""
    return (
        Constituent.objects.filter(pk=constituent_id).values_list("language", flat=True).first()
        or ""
    )


@dataclass(frozen=True)
class AgencyTold:
    """One agency's part in a life event's journey: told when, answered what."""

    agency: str
    agency_name: str
    told_at: datetime
    due_on: date
    answered_at: datetime | None
    reminded_at: datetime | None
    outcome: str | None
    text: str
    automatic: bool
    overdue: bool


def life_event_journey(life_event, *, tenant: Tenant | None = None) -> list[AgencyTold]:
    """Who was told of ``life_event`` and what each did (the latest answer counts).

    ``tenant``: only that agency's own notice (what an agency may see of others: nothing);
    None for the notifier's status page, the operator and the reporting front desk."""
    today = timezone.localdate()
    # The journey spans the agencies told; callers decide who may see all of it.
    with all_tenants():
        notices = LifeEventNotice.objects.filter(life_event=life_event).select_related("tenant")
        if tenant is not None:
            notices = notices.filter(tenant=tenant)
        latest = {}
        for response in LifeEventResponse.objects.filter(life_event=life_event).order_by(
            "created_at", "id"
        ):
            latest[response.tenant_id] = response
        journey = []
        for notice in notices.order_by("tenant__name"):
            answer = latest.get(notice.tenant_id)
            journey.append(
                AgencyTold(
                    agency=notice.tenant.slug,
                    agency_name=notice.tenant.name,
                    told_at=notice.told_at,
                    due_on=notice.due_on,
                    answered_at=notice.answered_at,
                    reminded_at=notice.reminded_at,
                    outcome=answer.outcome if answer else None,
                    text=answer.text if answer else "",
                    automatic=answer.automatic if answer else False,
                    overdue=notice.is_overdue(today),
                )
            )
    return journey


def took_notifier_report(tenant: Tenant, life_event) -> bool:
    """The agency took a notifier's report of this event: it is their front desk."""
    with all_tenants():
        return LifeEventReport.objects.filter(
            life_event=life_event, tenant=tenant, reference__isnull=False
        ).exists()


def life_event_offers(life_event) -> list:
    """The proactive services offered at this event (a public catalogue's entries)."""
    with all_tenants():
        return list(
            LifeEventOffer.objects.filter(life_event=life_event)
            .select_related("proactive_service__service", "tenant")
            .order_by("tenant__name", "proactive_service__service__name")
        )


def notifier_report(reference: str, secret: str):
    """The report a notifier's reference and secret open, or None (either wrong)."""
    reference = reference.strip().upper()
    with all_tenants():  # the reference, not an agency, finds the report
        report = (
            LifeEventReport.objects.filter(reference=reference)
            .select_related("life_event__constituent", "tenant")
            .first()
        )
    digest = hashlib.sha256(secret.strip().encode()).hexdigest()
    # Compared in constant time, and compared even when the reference is unknown, so
    # the answer's timing does not tell which of the two was wrong.
    expected = report.secret_hash if report is not None else "0" * 64
    if not hmac.compare_digest(expected, digest) or report is None:
        return None
    return report


def life_event(life_event_id: str):
    """A life event by id (hub-internal callers: subscribers reacting to its events)."""
    return LifeEvent.objects.filter(pk=life_event_id).first()
