"""Retention (GDPR articles 5(1)(e) and 17): what no registration justifies is erased.

Two rules, both settings (hub/settings.py, docs/operator-guide.md "Retention"):

- An **ended registration** is erased ``HUB_REGISTRY_RETENTION_DAYS[legal_basis]`` days
  after it ended, and with it what only that registration justified: the agency's own
  reports of the person's life events.
- A **deceased person's** registrations are all ended and erased
  ``HUB_REGISTRY_DECEASED_RETENTION_DAYS`` after the date of death, whatever their
  legal basis: a record kept for the living is not kept for ever for the dead.

A constituent left with no registration at all is then erased: identifiers, change
history, life events, the access log, and the payloads of the events the hub wrote
about them. The row itself is deleted when nothing else points at it; when payments,
debts or mandates do (financial records with their own legal retention, in apps this
one must not import), it is anonymised instead: name, date of birth, address and
contact cleared and ``erased_at`` set, so those records stay whole and point at nobody
identifiable.

Every erased registration leaves an entry in its agency's audit trail saying what was
erased under which rule, never the personal data itself. The job runs nightly (Celery
beat, ``registration.apply_retention``), in chunks of one transaction each, and is safe
to run twice: a second run finds nothing left to erase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from hub.events.models import Event
from hub.iterables import batched
from hub.models import AuditEntry
from registration.models import (
    Constituent,
    ConstituentAccess,
    ConstituentVersion,
    Identifier,
    LifeEvent,
    LifeEventReport,
    Registration,
)
from tenants.scope import all_tenants

CHUNK = 200  # constituents per transaction
ERASED_NAME = "(erased)"
ACTOR_LABEL = "retention job"


@dataclass
class RetentionOutcome:
    registrations_erased: int = 0
    constituents_deleted: int = 0
    constituents_anonymised: int = 0
    erased_registration_ids: list[str] = field(default_factory=list)


def retention_days(legal_basis: str) -> int:
    return int(settings.HUB_REGISTRY_RETENTION_DAYS[legal_basis])


def apply_retention(*, now=None) -> RetentionOutcome:
    """Erase every registration past its period and the records nothing justifies."""
    now = now or timezone.now()
    outcome = RetentionOutcome()
    # The job is the hub's, across every agency.
    with all_tenants():
        deceased = set(_deceased_past_retention(now))
        expired = _expired_registrations(now)
        constituents = sorted(deceased | {constituent for _, constituent in expired})
    for chunk in batched(constituents, CHUNK):
        _erase_chunk(set(chunk), deceased=deceased, now=now, outcome=outcome)
    return outcome


def _deceased_past_retention(now) -> list[str]:
    cutoff = now.date() - timedelta(days=settings.HUB_REGISTRY_DECEASED_RETENTION_DAYS)
    return list(
        Constituent.objects.filter(
            status=Constituent.Status.DECEASED, deceased_on__lte=cutoff, erased_at__isnull=True
        ).values_list("pk", flat=True)
    )


def _expired_registrations(now) -> list[tuple[str, str]]:
    """(registration, constituent) of every ended registration past its basis's period."""
    past = Q()
    for basis in Registration.LegalBasis.values:
        past |= Q(legal_basis=basis, ended_at__lte=now - timedelta(days=retention_days(basis)))
    return list(
        Registration.objects.filter(past, status=Registration.Status.ENDED).values_list(
            "pk", "constituent_id"
        )
    )


@transaction.atomic
def _erase_chunk(constituent_ids: set[str], *, deceased: set[str], now, outcome) -> None:
    with all_tenants():
        locked = list(
            Constituent.objects.select_for_update()
            .filter(pk__in=constituent_ids, erased_at__isnull=True)
            .values_list("pk", flat=True)
        )
        dead = {pk for pk in locked if pk in deceased}
        registrations = list(
            Registration.objects.filter(constituent_id__in=locked).filter(
                Q(constituent_id__in=dead) | Q(status=Registration.Status.ENDED)
            )
        )
        doomed = [r for r in registrations if r.constituent_id in dead or _past(r, now)]
        if not doomed and not dead:
            return
        left = set(
            Registration.objects.filter(constituent_id__in=locked)
            .exclude(pk__in=[r.pk for r in doomed])
            .values_list("constituent_id", flat=True)
        )
        unjustified = [pk for pk in locked if pk not in left]
        referenced = _referenced_elsewhere(unjustified)
        fates = {
            pk: ("anonymised" if pk in referenced else "deleted") if pk in unjustified else "kept"
            for pk in locked
        }
        _audit(doomed, dead=dead, fates=fates, now=now)
        # What only the registration justified: the agency's own life-event reports.
        for registration in doomed:
            LifeEventReport.objects.filter(
                tenant_id=registration.tenant_id,
                life_event__constituent_id=registration.constituent_id,
            ).delete()
        Registration.objects.filter(pk__in=[r.pk for r in doomed]).delete()
        _erase_constituents(unjustified, referenced=referenced, now=now)
    outcome.registrations_erased += len(doomed)
    outcome.erased_registration_ids.extend(r.pk for r in doomed)
    outcome.constituents_anonymised += sum(1 for f in fates.values() if f == "anonymised")
    outcome.constituents_deleted += sum(1 for f in fates.values() if f == "deleted")


def _past(registration: Registration, now) -> bool:
    if registration.status != Registration.Status.ENDED or registration.ended_at is None:
        return False
    return registration.ended_at <= now - timedelta(days=retention_days(registration.legal_basis))


def _referenced_elsewhere(constituent_ids: list[str]) -> set[str]:
    """The constituents another app's rows protect from deletion (payments, debts…).

    Found from the model graph, not by importing those apps (they stand above this
    one): every relation onto Constituent that PROTECTs, outside this app."""
    if not constituent_ids:
        return set()
    found: set[str] = set()
    # include_hidden: the other apps' foreign keys have related_name="+" (no accessor).
    relations = [
        f
        for f in Constituent._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]
    for relation in relations:
        related = relation.related_model
        if related._meta.app_label == Constituent._meta.app_label:
            continue
        if relation.on_delete is not models.PROTECT:
            continue
        column = relation.field.attname
        found.update(
            related._base_manager.filter(**{f"{column}__in": constituent_ids}).values_list(
                column, flat=True
            )
        )
    return found


def _erase_constituents(constituent_ids: list[str], *, referenced: set[str], now) -> None:
    if not constituent_ids:
        return
    life_events = list(
        LifeEvent.objects.filter(constituent_id__in=constituent_ids).values_list("pk", flat=True)
    )
    # The events the hub wrote about them keep their type and time (what agencies were
    # told, and when), not what they said.
    Event.objects.filter(subject_id__in=[*constituent_ids, *life_events]).update(
        payload={"erased": True}
    )
    Identifier.objects.filter(constituent_id__in=constituent_ids).delete()
    ConstituentVersion.objects.filter(constituent_id__in=constituent_ids).delete()
    LifeEventReport.objects.filter(life_event_id__in=life_events).delete()
    LifeEvent.objects.filter(pk__in=life_events).delete()
    ConstituentAccess.objects.filter(constituent_id__in=constituent_ids).delete()
    Constituent.objects.filter(pk__in=referenced & set(constituent_ids)).update(
        name=ERASED_NAME,
        date_of_birth=None,
        address={},
        email="",
        phone="",
        erased_at=now,
        updated_at=now,
    )
    Constituent.objects.filter(pk__in=set(constituent_ids) - referenced).delete()


def _audit(doomed: list[Registration], *, dead: set[str], fates: dict[str, str], now) -> None:
    entries = []
    for registration in doomed:
        rule = "deceased" if registration.constituent_id in dead else "ended registration"
        days = (
            settings.HUB_REGISTRY_DECEASED_RETENTION_DAYS
            if rule == "deceased"
            else retention_days(registration.legal_basis)
        )
        entries.append(
            AuditEntry(
                tenant_id=registration.tenant_id,
                occurred_at=now,
                actor_kind=AuditEntry.ActorKind.SYSTEM,
                actor_id="retention",
                actor_label=ACTOR_LABEL,
                action="retention erasure",
                object_type=Registration._meta.label,
                object_id=registration.pk,
                summary=f"Registration erased by the retention rule for a {rule} ({days} days)",
                # Ids, dates and categories only: never a name, number or address.
                changes={
                    "rule": rule,
                    "retention_days": days,
                    "legal_basis": registration.legal_basis,
                    "registration_status": registration.status,
                    "ended_at": registration.ended_at,
                    "constituent": registration.constituent_id,
                    "constituent_record": fates[registration.constituent_id],
                    "erased": ["registration", "life-event reports of the agency"]
                    + (
                        [
                            "identifiers",
                            "name, date of birth, address, contact",
                            "change history",
                            "life events",
                            "access log",
                            "event payloads",
                        ]
                        if fates[registration.constituent_id] != "kept"
                        else []
                    ),
                },
            )
        )
    AuditEntry.objects.bulk_create(entries)
