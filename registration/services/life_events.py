"""Life events told once: validated, deduplicated, applied to the record, fanned out.

What each kind carries, implies and who may report it is the table in
registration/rules/life_events.py; this module only applies it. Every registered agency
is told (a ``LifeEventNotice`` with the day its answer is due), the proactive services
declared for the kind are offered, and a second report that disagrees with the first
becomes a ``LifeEventDiscrepancy`` for an operator instead of being absorbed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hub.errors import Conflict, InvalidRequest, RuleViolation
from hub.events.outbox import EventSpec, publish_many
from registration import events
from registration.models import (
    Constituent,
    LifeEvent,
    LifeEventDiscrepancy,
    LifeEventNotice,
    LifeEventOffer,
    LifeEventReport,
    ProactiveService,
)
from registration.rules import life_events as rules
from registration.rules.working_days import add_working_days
from registration.selectors import registered_tenants
from registration.services.constituents import record_version
from tenants.models import Service, Tenant
from tenants.scope import all_tenants

# Codes the rules raise that are a rule of the registry, not a malformed request: 422.
_RULE_CODES = {"kind_mismatch", "reporter_not_allowed", "date_of_birth_differs"}
# Crockford's base32 without I, L, O, U: a reference read over the phone stays unambiguous.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Notifier:
    """The person who told the reporting agency (a relative, an executor, the person)."""

    name: str
    relationship: str
    contact: str = ""


@dataclass(frozen=True)
class RecordedLifeEvent:
    life_event: LifeEvent
    report: LifeEventReport | None
    newly_applied: bool
    # The status page's secret, shown once: only when this call created the report.
    secret: str | None = None
    # Set when the report disagreed with the recorded event: nothing else was changed.
    discrepancy: LifeEventDiscrepancy | None = None
    implied: list[LifeEvent] = field(default_factory=list)


def _refusal(error: rules.FactError):
    kind = RuleViolation if error.code in _RULE_CODES else InvalidRequest
    return kind(error.message, code=error.code, field=error.field)


def _dedupe_key(constituent_id: str, kind: str, identity: list) -> str:
    basis = [constituent_id, kind, *identity]
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def _new_reference() -> str:
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"TUO-{code[:4]}-{code[4:]}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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
    notifier: Notifier | None = None,
) -> RecordedLifeEvent:
    """Apply a life event once and tell every registered agency; keep every report.

    A second report of a recorded event that gives other facts records a discrepancy
    and changes nothing else (the caller answers 409)."""
    try:
        declared = rules.kind_of(kind)
    except rules.FactError as exc:
        raise _refusal(exc) from exc
    # Lock the person: two agencies reporting the same death at once apply it once.
    constituent = Constituent.objects.select_for_update().get(pk=constituent.pk)
    try:
        rules.check_subject(
            declared,
            subject_kind=constituent.kind,
            occurred_on=occurred_on,
            today=timezone.localdate(),
            date_of_birth=constituent.date_of_birth,
        )
        role = rules.check_reporter(declared, notifier.relationship if notifier else None)
        facts = rules.validate_facts(declared, details or {})
    except rules.FactError as exc:
        raise _refusal(exc) from exc
    if notifier is not None and not notifier.name.strip():
        raise InvalidRequest(
            "Enter the notifier's name", code="missing_field", field="notifier.name"
        )

    key = _dedupe_key(constituent.pk, kind, rules.identity(declared, occurred_on, facts))
    life_event = LifeEvent.objects.filter(dedupe_key=key).first()
    if life_event is not None:
        found = rules.conflicts(
            recorded_on=life_event.occurred_on,
            recorded_facts=life_event.details,
            reported_on=occurred_on,
            reported_facts=facts,
        )
        if found:
            return RecordedLifeEvent(
                life_event,
                None,
                False,
                discrepancy=_record_discrepancy(
                    life_event, tenant, occurred_on, facts, found, agency_reference
                ),
            )
        report, secret = _report(life_event, tenant, agency_reference, role, notifier, False)
        return RecordedLifeEvent(life_event, report, False, secret)

    life_event = LifeEvent.objects.create(
        constituent=constituent, kind=kind, occurred_on=occurred_on, details=facts, dedupe_key=key
    )
    report, secret = _report(life_event, tenant, agency_reference, role, notifier, True)
    implied = _apply(constituent, declared, life_event, tenant=tenant, actor=actor)
    return RecordedLifeEvent(life_event, report, True, secret, implied=implied)


def _record_discrepancy(life_event, tenant, occurred_on, facts, found, agency_reference):
    conflicts = [{"field": c.field, "recorded": c.recorded, "reported": c.reported} for c in found]
    # The same agency sending the same disagreeing report again is one discrepancy.
    existing = LifeEventDiscrepancy.objects.filter(
        life_event=life_event,
        reported_by=tenant,
        status=LifeEventDiscrepancy.Status.OPEN,
        reported_on=occurred_on,
        reported_details=facts,
    ).first()
    return existing or LifeEventDiscrepancy.objects.create(
        life_event=life_event,
        reported_by=tenant,
        agency_reference=agency_reference,
        reported_on=occurred_on,
        reported_details=facts,
        conflicts=conflicts,
    )


def _report(life_event, tenant, agency_reference, role, notifier, first):
    """The reporting agency's row (one per agency), with the notifier's reference."""
    # Written from any scope (API request, admin, import); the lookup names the tenant.
    with all_tenants():
        existing = LifeEventReport.objects.filter(life_event=life_event, tenant=tenant).first()
        if existing is not None:
            return existing, None
        secret = secrets.token_urlsafe(24) if notifier else None
        for _ in range(5):  # 32^8 references: a collision is rare, never fatal
            try:
                with transaction.atomic():
                    report = LifeEventReport.objects.create(
                        life_event=life_event,
                        tenant=tenant,
                        agency_reference=agency_reference,
                        first_report=first,
                        reporter_role=role.value,
                        notifier_name=notifier.name.strip() if notifier else "",
                        notifier_relationship=notifier.relationship if notifier else "",
                        notifier_contact=notifier.contact.strip() if notifier else "",
                        reference=_new_reference() if notifier else None,
                        secret_hash=hash_secret(secret) if secret else "",
                    )
                return report, secret
            except IntegrityError:
                continue
    raise Conflict("Could not allocate a tell-us-once reference; send the report again")


def apply_to_record(
    constituent, declared, life_event, *, tenant, actor, reason: str = "", noted: dict | None = None
) -> dict:
    """Write what ``life_event`` changes on the person's record (a date of death, a new
    address) as one new version. ``reason`` and ``noted`` (more keys for the version's
    changes) say why when it is not the first report: an operator's correction."""
    changes = rules.record_changes(declared, life_event.occurred_on, life_event.details)
    if declared.status_becomes:
        constituent.status = declared.status_becomes
    constituent.version = F("version") + 1
    constituent.updated_at = timezone.now()
    for name, value in changes.items():
        setattr(constituent, name, value)
    constituent.save()
    constituent.refresh_from_db()
    record_version(
        constituent,
        tenant=tenant,
        actor=actor,
        reason=reason or f"life_event:{declared.code}",
        changes={
            "life_event": life_event.pk,
            **(noted or {}),
            **{k: v.isoformat() if isinstance(v, date) else v for k, v in changes.items()},
        },
    )
    return changes


def _apply(constituent, declared, life_event, *, tenant, actor) -> list[LifeEvent]:
    apply_to_record(constituent, declared, life_event, tenant=tenant, actor=actor)
    implied = []
    for implied_kind, implied_facts in rules.implied_events(declared, life_event.details):
        implied_declared = rules.KINDS[implied_kind]
        key = _dedupe_key(
            constituent.pk,
            implied_kind,
            rules.identity(implied_declared, life_event.occurred_on, implied_facts),
        )
        if LifeEvent.objects.filter(dedupe_key=key).exists():
            continue  # already reported on its own
        event = LifeEvent.objects.create(
            constituent=constituent,
            kind=implied_kind,
            occurred_on=life_event.occurred_on,
            details=implied_facts,
            dedupe_key=key,
            implied_by=life_event,
        )
        apply_to_record(constituent, implied_declared, event, tenant=tenant, actor=actor)
        implied.append(event)

    agencies = registered_tenants(constituent)
    now = timezone.now()
    notices = [
        LifeEventNotice(
            tenant=agency,
            life_event=life_event,
            told_at=now,
            due_on=add_working_days(
                timezone.localdate(now),
                agency.life_event_answer_days,
                settings.HUB_WORKING_DAY_CALENDAR,
            ),
        )
        for agency in agencies
    ]
    with all_tenants():  # one notice per agency told, each naming its own tenant
        LifeEventNotice.objects.bulk_create(notices)
    specs = []
    for notice in notices:
        agency = notice.tenant
        for event in (life_event, *implied):
            specs.append(
                EventSpec(
                    agency,
                    events.CONSTITUENT_LIFE_EVENT,
                    event.pk,
                    life_event_payload(
                        constituent, event, reported_by_you=agency == tenant, notice=notice
                    ),
                )
            )
        if declared.follow_up_event:
            specs.append(
                EventSpec(
                    agency,
                    declared.follow_up_event,
                    constituent.pk,
                    life_event_payload(constituent, life_event, reported_by_you=agency == tenant),
                )
            )
    specs += _offer_proactive_services(constituent, life_event, {a.pk for a in agencies})
    # One change told to every agency: one dispatch task, its webhooks one batch.
    publish_many(specs, together=True)
    return implied


def life_event_payload(constituent, life_event, *, reported_by_you, notice=None) -> dict:
    """What a registered agency is told. Never which other agencies reported or were
    told: that would tell one agency who else holds the person."""
    payload = {
        "constituent": constituent.pk,
        "life_event": life_event.pk,
        "kind": life_event.kind,
        "occurred_on": life_event.occurred_on.isoformat(),
        "details": life_event.details,
        "reported_by_you": reported_by_you,
        "implied_by": life_event.implied_by_id,
        "constituent_status": constituent.status,
    }
    if notice is not None and life_event.implied_by_id is None:
        payload["answer_by"] = notice.due_on.isoformat()
    return payload


def _offer_proactive_services(constituent, life_event, registered_ids: set[str]) -> list:
    """Record the proactive services that answer this event for this person; tell an
    offering agency that does not hold the person only that its service was offered."""
    with all_tenants():  # the declarations of every agency are the catalogue searched
        declarations = list(
            ProactiveService.objects.filter(
                active=True,
                service__active=True,
                service__interaction_kind=Service.InteractionKind.PROACTIVE,
            ).select_related("service", "tenant")
        )  # a catalogue of a few hundred rows at most; kinds are matched by the rules
        applying = [
            declaration
            for declaration in declarations
            if rules.offer_applies(
                offerable(declaration),
                kind=life_event.kind,
                subject_kind=constituent.kind,
                date_of_birth=constituent.date_of_birth,
                occurred_on=life_event.occurred_on,
            )
        ]
        offers = LifeEventOffer.objects.bulk_create(
            [
                LifeEventOffer(
                    tenant=declaration.tenant,
                    life_event=life_event,
                    proactive_service=declaration,
                    agency_was_registered=declaration.tenant_id in registered_ids,
                )
                for declaration in applying
            ]
        )
    return [
        EventSpec(
            offer.tenant,
            events.CONSTITUENT_SERVICE_OFFERED,
            offer.pk,
            # No constituent, no name, no date of the event, no life-event id: the agency
            # does not hold this person. The person quotes the offer when they apply.
            {
                "offer": offer.pk,
                "service": offer.proactive_service.service.code,
                "life_event_kind": life_event.kind,
                "offered_at": offer.created_at.isoformat(),
            },
        )
        for offer in offers
        if not offer.agency_was_registered
    ]


def offerable(declaration: ProactiveService) -> rules.Offerable:
    return rules.Offerable(
        kinds=frozenset(declaration.life_event_kinds),
        subject=frozenset(declaration.subject_kinds or (rules.PERSON, rules.ORGANISATION)),
        min_age=declaration.min_age,
        max_age=declaration.max_age,
    )
