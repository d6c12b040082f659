"""Every write to the registry: register once, correct, record life events, end links."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hub.errors import Conflict, Forbidden, InvalidRequest, RuleViolation
from hub.events.outbox import EventSpec, publish, publish_many
from registration import events, identifiers
from registration.models import (
    Constituent,
    ConstituentVersion,
    FieldAuthority,
    Identifier,
    LifeEvent,
    LifeEventReport,
    Registration,
)
from registration.selectors import active_registration, identifier_hash, registered_tenants
from tenants.models import Tenant
from tenants.scope import all_tenants

CORRECTABLE_FIELDS = ("name", "date_of_birth", "address", "email", "phone")


class FieldOwnedElsewhere(Forbidden):
    default_code = "field_owned_by_another_agency"


@dataclass(frozen=True)
class Registered:
    constituent: Constituent
    registration: Registration
    constituent_created: bool
    registration_created: bool


def _identifier(scheme: str, value: str, kind: str) -> tuple[str, str]:
    try:
        normalised = identifiers.normalise(scheme, value)
    except identifiers.IdentifierError as exc:
        field = (
            "identifier.scheme" if exc.code == "unknown_identifier_scheme" else "identifier.value"
        )
        raise InvalidRequest(exc.message, code=exc.code, field=field) from exc
    if identifiers.SCHEMES[scheme].kind != kind:
        raise InvalidRequest(
            f"A {scheme} identifier belongs to a {identifiers.SCHEMES[scheme].kind}, not a {kind}",
            code="identifier_kind_mismatch",
            field="identifier.scheme",
        )
    return normalised, identifier_hash(scheme, normalised)


def _constituent_values(constituent: Constituent) -> dict:
    return {
        "name": constituent.name,
        "date_of_birth": constituent.date_of_birth.isoformat()
        if constituent.date_of_birth
        else None,
        "address": constituent.address,
        "email": constituent.email,
        "phone": constituent.phone,
    }


def _record_version(constituent, *, tenant, actor, reason, changes) -> None:
    ConstituentVersion.objects.create(
        constituent=constituent,
        version=constituent.version,
        changed_by_tenant=tenant,
        changed_by=actor,
        reason=reason,
        changes=changes,
    )


@transaction.atomic
def register_constituent(
    *,
    tenant: Tenant,
    actor: str,
    kind: str,
    identifier_scheme: str,
    identifier_value: str,
    name: str,
    purpose: str,
    legal_basis: str,
    date_of_birth: date | None = None,
    address: dict | None = None,
    email: str = "",
    phone: str = "",
    agency_reference: str = "",
    consent_given_at=None,
) -> Registered:
    """Register once: an identifier the hub already holds links to the existing record.

    Two agencies registering the same person at once end with one constituent: the
    unique keyed hash lets one insert win; the other finds the winner's row.
    """
    if legal_basis == Registration.LegalBasis.CONSENT and consent_given_at is None:
        raise InvalidRequest(
            "Registration on the basis of consent needs consent_given_at",
            code="missing_consent",
            field="consent_given_at",
        )
    normalised, lookup = _identifier(identifier_scheme, identifier_value, kind)
    constituent, constituent_created = _find_or_create_constituent(
        tenant=tenant,
        actor=actor,
        lookup=lookup,
        scheme=identifier_scheme,
        value=normalised,
        fields={
            "kind": kind,
            "name": name,
            "date_of_birth": date_of_birth,
            "address": address or {},
            "email": email,
            "phone": phone,
        },
    )
    if constituent.kind != kind:
        raise Conflict(
            "This identifier belongs to a constituent of another kind",
            code="identifier_kind_mismatch",
            field="kind",
        )
    registration, registration_created = _find_or_create_registration(
        tenant=tenant,
        constituent=constituent,
        agency_reference=agency_reference,
        purpose=purpose,
        legal_basis=legal_basis,
        consent_given_at=consent_given_at,
    )
    if registration_created:
        publish(
            tenant=tenant,
            type=events.CONSTITUENT_REGISTERED,
            subject_id=constituent.pk,
            payload={
                "constituent": constituent.pk,
                "registration": registration.pk,
                "agency_reference": registration.agency_reference,
                "new_to_hub": constituent_created,
            },
        )
    return Registered(constituent, registration, constituent_created, registration_created)


def _find_or_create_constituent(*, tenant, actor, lookup, scheme, value, fields):
    existing = Identifier.objects.select_related("constituent").filter(lookup_hash=lookup).first()
    if existing:
        return existing.constituent, False
    try:
        with transaction.atomic():
            constituent = Constituent.objects.create(**fields)
            Identifier.objects.create(
                constituent=constituent,
                scheme=scheme,
                value=value,
                lookup_hash=lookup,
                masked=identifiers.mask(value),
            )
            _record_version(
                constituent,
                tenant=tenant,
                actor=actor,
                reason="registered",
                changes={k: [None, v] for k, v in _constituent_values(constituent).items() if v},
            )
            return constituent, True
    except IntegrityError:
        # A concurrent registration of the same identifier committed first.
        winner = Identifier.objects.select_related("constituent").get(lookup_hash=lookup)
        return winner.constituent, False


def _find_or_create_registration(*, tenant, constituent, **fields):
    # Registering runs for the agency it is given from any scope (its API request, the
    # admin, a bulk import); every query here names that tenant.
    with all_tenants():
        existing = active_registration(tenant, constituent)
        if existing:
            return existing, False
        try:
            with transaction.atomic():
                return Registration.objects.create(
                    tenant=tenant, constituent=constituent, **fields
                ), True
        except IntegrityError:
            return active_registration(tenant, constituent), False


@transaction.atomic
def correct_constituent(
    *,
    tenant: Tenant,
    actor: str,
    constituent: Constituent,
    changes: dict,
    reason: str = "correction",
) -> Constituent:
    """Correct fields the agency is the source of truth for (or that nobody owns)."""
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"Cannot change {', '.join(sorted(unknown))}",
            code="field_not_correctable",
            field=sorted(unknown)[0],
        )
    owners = dict(
        FieldAuthority.objects.filter(field__in=changes).values_list("field", "tenant_id")
    )
    for field in changes:
        if owners.get(field, tenant.pk) != tenant.pk:
            raise FieldOwnedElsewhere(
                f"Another agency is the source of truth for '{field}'", field=field
            )
    constituent = Constituent.objects.select_for_update().get(pk=constituent.pk)
    return _apply_changes(constituent, tenant=tenant, actor=actor, reason=reason, changes=changes)


def _apply_changes(constituent, *, tenant, actor, reason, changes) -> Constituent:
    before = _constituent_values(constituent)
    for field, value in changes.items():
        setattr(constituent, field, value)
    after = _constituent_values(constituent)
    diff = {
        field: [before[field], after[field]] for field in changes if before[field] != after[field]
    }
    if not diff:
        return constituent
    constituent.version = F("version") + 1
    constituent.updated_at = timezone.now()
    constituent.save()
    constituent.refresh_from_db()
    _record_version(constituent, tenant=tenant, actor=actor, reason=reason, changes=diff)
    changed = {
        "constituent": constituent.pk,
        "version": constituent.version,
        "changed_by": tenant.slug,
        "reason": reason,
        "changes": {f: after[f] for f in diff},
    }
    publish_many(
        EventSpec(agency, events.CONSTITUENT_UPDATED, constituent.pk, changed)
        for agency in registered_tenants(constituent)
    )
    return constituent


# -- life events ---------------------------------------------------------------------------


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
    _record_version(
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


@transaction.atomic
def end_registration(*, registration: Registration, reason: str = "") -> Registration:
    """The agency no longer serves this person (or consent was withdrawn)."""
    if registration.status == Registration.Status.ENDED:
        return registration
    registration.status = Registration.Status.ENDED
    registration.ended_at = timezone.now()
    registration.end_reason = reason
    registration.save(update_fields=["status", "ended_at", "end_reason"])
    return registration
