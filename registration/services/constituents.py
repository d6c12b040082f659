"""A person in the shared registry: registered once, corrected, linked to agencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hub.errors import Conflict, Forbidden, InvalidRequest
from hub.events.outbox import EventSpec, publish, publish_many
from registration import events
from registration.models import (
    Constituent,
    ConstituentVersion,
    FieldAuthority,
    Identifier,
    Registration,
)
from registration.rules import identifiers
from registration.selectors import (
    OPTIONAL_FIELDS,
    active_registration,
    identifier_hash,
    registered_tenants,
    visible_fields,
)
from tenants.models import Language, Tenant
from tenants.scope import all_tenants

CORRECTABLE_FIELDS = ("name", "date_of_birth", "address", "email", "phone", "language")


class FieldOwnedElsewhere(Forbidden):
    default_code = "field_owned_by_another_agency"


class FieldNotAuthorised(Forbidden):
    default_code = "field_not_authorised"


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


def _language(language: str) -> str:
    if language and language not in Language.values:
        raise InvalidRequest(
            f"Unknown language {language!r}: one of {', '.join(Language.values)}",
            code="unknown_language",
            field="language",
        )
    return language


def _constituent_values(constituent: Constituent) -> dict:
    return {
        "name": constituent.name,
        "date_of_birth": constituent.date_of_birth.isoformat()
        if constituent.date_of_birth
        else None,
        "address": constituent.address,
        "email": constituent.email,
        "phone": constituent.phone,
        "language": constituent.language,
    }


def record_version(constituent, *, tenant, actor, reason, changes) -> None:
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
    language: str = "",
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
            "language": _language(language),
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
        # Whether the hub knew the person before is not the registering agency's to
        # learn (it would tell that another agency holds them): not in the event either.
        publish(
            tenant=tenant,
            type=events.CONSTITUENT_REGISTERED,
            subject_id=constituent.pk,
            payload={
                "constituent": constituent.pk,
                "registration": registration.pk,
                "agency_reference": registration.agency_reference,
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
            record_version(
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
    granted = visible_fields(tenant)
    unauthorised = sorted(f for f in changes if f in OPTIONAL_FIELDS and f not in granted)
    if unauthorised:
        # An agency corrects only what it may see: a blind overwrite of a field it is not
        # authorised for would be a change to a record it cannot check.
        raise FieldNotAuthorised(
            f"Your agency is not authorised for '{unauthorised[0]}'", field=unauthorised[0]
        )
    if "language" in changes:
        _language(changes["language"])
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
    record_version(constituent, tenant=tenant, actor=actor, reason=reason, changes=diff)
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
