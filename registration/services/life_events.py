"""Life events told once: validated, deduplicated, applied to the record, fanned out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.errors import InvalidRequest, RuleViolation
from hub.events.outbox import EventSpec, publish_many
from registration import events
from registration.models import (
    Constituent,
    LifeEvent,
    LifeEventReport,
)
from registration.selectors import registered_tenants
from registration.services.constituents import record_version
from tenants.models import Tenant
from tenants.scope import all_tenants


def _validate_life_event(constituent: Constituent, kind: str, occurred_on: date, details: dict):
    if occurred_on > timezone.now().date():
        raise InvalidRequest(
            "A life event cannot happen in the future", code="date_in_future", field="occurred_on"
        )
    if constituent.date_of_birth and occurred_on < constituent.date_of_birth:
        raise InvalidRequest(
            "The event predates the date of birth", code="date_before_birth", field="occurred_on"
        )
    person_only = {LifeEvent.Kind.DEATH}
    organisation_only = {LifeEvent.Kind.BUSINESS_CEASED}
    if kind in person_only and constituent.kind != Constituent.Kind.PERSON:
        raise RuleViolation("Only a person can die", code="kind_mismatch", field="kind")
    if kind in organisation_only and constituent.kind != Constituent.Kind.ORGANISATION:
        raise RuleViolation(
            "Only an organisation can cease trading", code="kind_mismatch", field="kind"
        )
    if kind == LifeEvent.Kind.ADDRESS_CHANGE and not details.get("address"):
        raise InvalidRequest(
            "An address change needs the new address", code="missing_field", field="details.address"
        )
    if kind == LifeEvent.Kind.NAME_CHANGE and not str(details.get("name", "")).strip():
        raise InvalidRequest(
            "A name change needs the new name", code="missing_field", field="details.name"
        )


def _dedupe_key(constituent: Constituent, kind: str, occurred_on: date, details: dict) -> str:
    # A person dies once and a business ceases once, whatever date a second report
    # gives; moves and renames are the same event when date and content match.
    if kind in (LifeEvent.Kind.DEATH, LifeEvent.Kind.BUSINESS_CEASED):
        basis = [constituent.pk, kind]
    else:
        basis = [constituent.pk, kind, occurred_on.isoformat(), details]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RecordedLifeEvent:
    life_event: LifeEvent
    report: LifeEventReport
    newly_applied: bool


@transaction.atomic
def record_life_event(
    *,
    tenant: Tenant,
    actor: str,
    constituent: Constituent,
    kind: str,
    occurred_on: date,
    details: dict | None = None,
    agency_reference: str = "",
) -> RecordedLifeEvent:
    """Apply a life event once and tell every registered agency; keep every report."""
    details = details or {}
    # Lock the person: two agencies reporting the same death at once apply it once.
    constituent = Constituent.objects.select_for_update().get(pk=constituent.pk)
    _validate_life_event(constituent, kind, occurred_on, details)
    key = _dedupe_key(constituent, kind, occurred_on, details)
    life_event = LifeEvent.objects.filter(dedupe_key=key).first()
    newly_applied = life_event is None
    if newly_applied:
        life_event = LifeEvent.objects.create(
            constituent=constituent,
            kind=kind,
            occurred_on=occurred_on,
            details=details,
            dedupe_key=key,
        )
    # The report is the reporting agency's row, written from any scope (API request,
    # admin, import); the lookup names the tenant.
    with all_tenants():
        report, _ = LifeEventReport.objects.get_or_create(
            life_event=life_event,
            tenant=tenant,
            defaults={"agency_reference": agency_reference, "first_report": newly_applied},
        )
    if newly_applied:
        _apply_life_event(constituent, life_event, tenant=tenant, actor=actor)
    return RecordedLifeEvent(life_event, report, newly_applied)


def _apply_life_event(constituent, life_event, *, tenant, actor) -> None:
    kind, details = life_event.kind, life_event.details
    changes = {}
    if kind == LifeEvent.Kind.ADDRESS_CHANGE:
        changes["address"] = details["address"]
    elif kind == LifeEvent.Kind.NAME_CHANGE:
        changes["name"] = details["name"].strip()
    elif kind == LifeEvent.Kind.DEATH:
        constituent.status = Constituent.Status.DECEASED
        constituent.deceased_on = life_event.occurred_on
    elif kind == LifeEvent.Kind.BUSINESS_CEASED:
        constituent.status = Constituent.Status.CEASED
        constituent.ceased_on = life_event.occurred_on
    constituent.version = F("version") + 1
    constituent.updated_at = timezone.now()
    for field, value in changes.items():
        setattr(constituent, field, value)
    constituent.save()
    constituent.refresh_from_db()
    record_version(
        constituent,
        tenant=tenant,
        actor=actor,
        reason=f"life_event:{kind}",
        changes={"life_event": life_event.pk, **changes},
    )
    payload = {
        "constituent": constituent.pk,
        "life_event": life_event.pk,
        "kind": kind,
        "occurred_on": life_event.occurred_on.isoformat(),
        "details": details,
        "reported_by": tenant.slug,
        "constituent_status": constituent.status,
    }
    follow_up = {
        LifeEvent.Kind.DEATH: events.CONSTITUENT_DECEASED,
        LifeEvent.Kind.BUSINESS_CEASED: events.CONSTITUENT_CEASED,
    }.get(kind)
    specs = []
    for agency in registered_tenants(constituent):
        specs.append(EventSpec(agency, events.CONSTITUENT_LIFE_EVENT, life_event.pk, payload))
        if follow_up:
            specs.append(EventSpec(agency, follow_up, constituent.pk, payload))
    # One change told to every agency: one dispatch task, its webhooks one batch.
    publish_many(specs, together=True)
