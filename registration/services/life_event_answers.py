"""After a life event is told: agencies answer, the late ones are reminded, operators
settle discrepancies, agencies declare the proactive services they offer."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from hub import audit
from hub.errors import Conflict, Forbidden, InvalidRequest
from hub.events.outbox import EventSpec, publish_many
from hub.models import AuditEntry
from registration import events
from registration.models import (
    Constituent,
    LifeEvent,
    LifeEventDiscrepancy,
    LifeEventNotice,
    LifeEventReport,
    LifeEventResponse,
    ProactiveService,
)
from registration.rules import life_events as rules
from registration.selectors import registered_tenants
from registration.services.life_events import apply_to_record, life_event_payload
from tenants.models import Service, Tenant
from tenants.scope import all_tenants

RESPONSE_TEXT_LIMIT = 300


@transaction.atomic
def record_life_event_response(
    *,
    tenant: Tenant,
    actor: str,
    life_event: LifeEvent,
    outcome: str,
    text: str = "",
    automatic: bool = False,
) -> LifeEventResponse:
    """An agency's answer to a life event it was told of; the latest answer counts."""
    if outcome not in LifeEventResponse.Outcome.values:
        raise InvalidRequest(
            f"Use one of: {', '.join(LifeEventResponse.Outcome.values)}",
            code="invalid_choice",
            field="outcome",
        )
    text = " ".join((text or "").split())
    if len(text) > RESPONSE_TEXT_LIMIT:
        raise InvalidRequest(
            f"At most {RESPONSE_TEXT_LIMIT} characters", code="too_long", field="text"
        )
    with all_tenants():  # the lookups name the answering agency
        notice = (
            LifeEventNotice.objects.select_for_update()
            .filter(life_event=life_event, tenant=tenant)
            .first()
        )
        if notice is None:
            raise Forbidden(
                "Your agency was not told of this life event (it registered the person "
                "afterwards), so it has nothing to answer",
                code="not_told",
            )
        response = LifeEventResponse.objects.create(
            tenant=tenant,
            life_event=life_event,
            outcome=outcome,
            text=text,
            automatic=automatic,
            answered_by=actor[:200],
        )
        if notice.answered_at is None:
            notice.answered_at = response.created_at
            notice.save(update_fields=["answered_at"])
        front_desks = set(
            LifeEventReport.objects.filter(life_event=life_event, reference__isnull=False)
            .exclude(tenant=tenant)
            .values_list("tenant_id", flat=True)
        )
        desk_tenants = list(Tenant.objects.filter(pk__in=front_desks))
    payload = {
        "life_event": life_event.pk,
        "response": response.pk,
        "outcome": outcome,
        "text": text,
        "automatic": automatic,
        "answered_at": response.created_at.isoformat(),
    }
    specs = [EventSpec(tenant, events.LIFE_EVENT_RESPONSE_RECORDED, life_event.pk, payload)]
    # The agency that took a notifier's report answers to them for every agency told
    # (the notifier's status page shows the same): it hears who answered.
    specs += [
        EventSpec(
            desk,
            events.LIFE_EVENT_RESPONSE_RECORDED,
            life_event.pk,
            {**payload, "agency": tenant.name},
        )
        for desk in desk_tenants
    ]
    publish_many(specs)
    return response


def remind_overdue(*, today: date | None = None) -> int:
    """Remind every agency past its service level once; how many were reminded.

    Set-based: one claim of the due notices (``SKIP LOCKED``: a second beat run moves
    on), one UPDATE, one INSERT of the reminder events."""
    today = today or timezone.localdate()
    now = timezone.now()
    # A beat job over every agency's notices: each reminder names its own tenant.
    with all_tenants(), transaction.atomic():
        due = list(
            LifeEventNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(answered_at__isnull=True, reminded_at__isnull=True, due_on__lt=today)
            .select_related("tenant", "life_event")
            .order_by("due_on", "id")[:1000]
        )
        if not due:
            return 0
        LifeEventNotice.objects.filter(pk__in=[n.pk for n in due]).update(reminded_at=now)
        publish_many(
            [
                EventSpec(
                    notice.tenant,
                    events.LIFE_EVENT_OVERDUE,
                    notice.life_event_id,
                    {
                        "life_event": notice.life_event_id,
                        "constituent": notice.life_event.constituent_id,
                        "kind": notice.life_event.kind,
                        "told_at": notice.told_at.isoformat(),
                        "answer_by": notice.due_on.isoformat(),
                        "answer_at": f"/api/v1/life-events/{notice.life_event_id}/responses",
                    },
                )
                for notice in due
            ]
        )
    return len(due)


@transaction.atomic
def resolve_discrepancy(
    *, discrepancy: LifeEventDiscrepancy, accept_reported: bool, resolved_by: str, note: str = ""
) -> LifeEventDiscrepancy:
    """An operator's decision: the recorded facts stand, or the record takes the second
    report's. Either way audited in the reporting agency's trail; a correction is told
    to every registered agency."""
    discrepancy = LifeEventDiscrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if discrepancy.status != LifeEventDiscrepancy.Status.OPEN:
        raise Conflict("This discrepancy was already resolved", code="already_resolved")
    life_event = LifeEvent.objects.select_for_update().get(pk=discrepancy.life_event_id)
    before = {"occurred_on": life_event.occurred_on.isoformat(), "details": life_event.details}
    if accept_reported:
        _correct(life_event, discrepancy, actor=resolved_by)
    discrepancy.status = (
        LifeEventDiscrepancy.Status.ACCEPTED_REPORTED
        if accept_reported
        else LifeEventDiscrepancy.Status.KEPT_RECORDED
    )
    discrepancy.resolved_at = timezone.now()
    discrepancy.resolved_by = resolved_by[:200]
    discrepancy.resolution_note = note[:500]
    discrepancy.save()
    audit.record(
        tenant=discrepancy.reported_by,
        actor_kind=AuditEntry.ActorKind.STAFF_USER,
        actor_id=resolved_by,
        actor_label=resolved_by,
        action="resolve life-event discrepancy",
        object_type="registration.LifeEventDiscrepancy",
        object_id=discrepancy.pk,
        summary=f"{discrepancy.get_status_display()}: {note}"[:500],
        changes={
            "life_event": life_event.pk,
            "before": before,
            "conflicts": discrepancy.conflicts,
            "decision": discrepancy.status,
        },
    )
    return discrepancy


def _correct(life_event: LifeEvent, discrepancy: LifeEventDiscrepancy, *, actor: str) -> None:
    declared = rules.KINDS[life_event.kind]
    life_event.occurred_on = discrepancy.reported_on
    life_event.details = {**life_event.details, **discrepancy.reported_details}
    life_event.save(update_fields=["occurred_on", "details"])
    constituent = Constituent.objects.select_for_update().get(pk=life_event.constituent_id)
    apply_to_record(
        constituent,
        declared,
        life_event,
        tenant=None,
        actor=actor,
        reason=f"life_event_corrected:{life_event.kind}",
        noted={"discrepancy": discrepancy.pk},
    )
    publish_many(
        [
            EventSpec(
                agency,
                events.CONSTITUENT_LIFE_EVENT,
                life_event.pk,
                {
                    **life_event_payload(
                        constituent, life_event, reported_by_you=agency == discrepancy.reported_by
                    ),
                    "corrected": True,
                },
            )
            for agency in registered_tenants(constituent)
        ],
        together=True,
    )


@transaction.atomic
def declare_proactive_service(
    *,
    tenant: Tenant,
    service: Service,
    life_event_kinds: list[str],
    eligibility_hint: str,
    link: str,
    subject_kinds: list[str] | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
) -> ProactiveService:
    """An agency says: this proactive service of ours answers these life events."""
    if service.tenant_id != tenant.pk:
        raise InvalidRequest(
            "No such service of your agency", code="does_not_exist", field="service"
        )
    if service.interaction_kind != Service.InteractionKind.PROACTIVE:
        raise InvalidRequest(
            "Only a service of interaction kind 'proactive' is offered at life events",
            code="service_not_proactive",
            field="service",
        )
    unknown = sorted(set(life_event_kinds) - set(rules.KINDS))
    if not life_event_kinds or unknown:
        raise InvalidRequest(
            f"Name one or more of: {', '.join(rules.KINDS)}",
            code="invalid_choice",
            field="life_event_kinds",
        )
    subject_kinds = sorted(set(subject_kinds or ()))
    if set(subject_kinds) - {rules.PERSON, rules.ORGANISATION}:
        raise InvalidRequest(
            "person and/or organisation", code="invalid_choice", field="subject_kinds"
        )
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InvalidRequest("min_age is above max_age", code="invalid_range", field="min_age")
    return ProactiveService.objects.create(
        tenant=tenant,
        service=service,
        life_event_kinds=sorted(set(life_event_kinds)),
        subject_kinds=subject_kinds,
        eligibility_hint=" ".join(eligibility_hint.split()),
        link=link,
        min_age=min_age,
        max_age=max_age,
    )


@transaction.atomic
def withdraw_proactive_service(*, declaration: ProactiveService) -> ProactiveService:
    """Offered no more; the offers already made stay on record."""
    declaration.active = False
    declaration.save(update_fields=["active"])
    return declaration
