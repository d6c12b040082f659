"""Everything the hub holds on a person, as the person may see it (GDPR article 15).

The registry's own sections are registered here with the hub's section registry
(hub/subject_access.py); payments and collections register theirs in their apps. The
document is for the person: it shows what no agency is shown — their identifiers in
full, every agency registered with them, every agency's reads and notifications —
because article 15 entitles the subject to a copy of all of it.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from hub.events.models import Event
from hub.subject_access import register_section, sections
from registration.models import Constituent, ConstituentAccess, LifeEventReport, Registration
from tenants.scope import all_tenants


def _when(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _day(value) -> str | None:
    return value.isoformat() if value else None


@register_section(
    "identifiers",
    "Identifiers",
    order=10,
    columns=(("scheme", "Scheme"), ("value", "Number"), ("recorded_at", "Recorded")),
)
def identifiers(constituent_id: str) -> list[dict]:
    return [
        {"scheme": i.scheme, "value": i.value, "recorded_at": _when(i.created_at)}
        for i in Constituent.objects.get(pk=constituent_id).identifiers.order_by("scheme")
    ]


@register_section(
    "registrations",
    "Agencies registered with you",
    order=20,
    columns=(
        ("agency_name", "Agency"),
        ("purpose", "Purpose"),
        ("legal_basis", "Legal basis"),
        ("status", "Status"),
        ("registered_at", "Registered"),
        ("ended_at", "Ended"),
        ("end_reason", "Why it ended"),
    ),
)
def registrations(constituent_id: str) -> list[dict]:
    with all_tenants():
        rows = Registration.objects.filter(constituent_id=constituent_id).select_related("tenant")
        return [
            {
                "agency": r.tenant.slug,
                "agency_name": r.tenant.name,
                "agency_reference": r.agency_reference,
                "purpose": r.purpose,
                "legal_basis": r.legal_basis,
                "consent_given_at": _when(r.consent_given_at),
                "status": r.status,
                "registered_at": _when(r.created_at),
                "ended_at": _when(r.ended_at),
                "end_reason": r.end_reason,
            }
            for r in rows.order_by("created_at", "pk")
        ]


@register_section(
    "versions",
    "Changes to your record",
    order=30,
    columns=(
        ("changed_at", "When"),
        ("agency_name", "By"),
        ("reason", "Why"),
        ("changes", "What changed (old → new)"),
    ),
)
def versions(constituent_id: str) -> list[dict]:
    rows = Constituent.objects.get(pk=constituent_id).versions.select_related("changed_by_tenant")
    return [
        {
            "version": v.version,
            "changed_at": _when(v.changed_at),
            "agency": v.changed_by_tenant.slug if v.changed_by_tenant else None,
            "agency_name": v.changed_by_tenant.name if v.changed_by_tenant else "the hub",
            "reason": v.reason,
            "changes": v.changes,
        }
        for v in rows.order_by("version")
    ]


@register_section(
    "life_events",
    "Life events",
    order=40,
    columns=(
        ("kind", "Event"),
        ("occurred_on", "On"),
        ("details", "Facts"),
        ("reported_by", "Reported by"),
        ("recorded_at", "Recorded"),
    ),
)
def life_events(constituent_id: str) -> list[dict]:
    constituent = Constituent.objects.get(pk=constituent_id)
    with all_tenants():
        reports: dict[str, list[str]] = {}
        for report in LifeEventReport.objects.filter(
            life_event__constituent=constituent
        ).select_related("tenant"):
            reports.setdefault(report.life_event_id, []).append(report.tenant.name)
    return [
        {
            "id": event.pk,
            "kind": event.kind,
            "occurred_on": _day(event.occurred_on),
            "details": event.details,
            "reported_by": reports.get(event.pk, []),
            "recorded_at": _when(event.created_at),
        }
        for event in constituent.life_events.order_by("created_at", "pk")
    ]


@register_section(
    "access_log",
    "Who looked at your record",
    order=50,
    columns=(
        ("accessed_at", "When"),
        ("agency_name", "Agency"),
        ("action", "What"),
        ("purpose", "For which purpose"),
        ("legal_basis", "Legal basis"),
    ),
)
def access_log(constituent_id: str) -> list[dict]:
    with all_tenants():
        rows = ConstituentAccess.objects.filter(constituent_id=constituent_id).select_related(
            "tenant"
        )
        return [
            {
                "accessed_at": _when(a.created_at),
                "agency": a.tenant.slug,
                "agency_name": a.tenant.name,
                "action": a.action,
                "purpose": a.purpose,
                "legal_basis": a.legal_basis,
                "api_key": a.api_key_label,
            }
            for a in rows.order_by("created_at", "pk")
        ]


@register_section(
    "notifications",
    "Agencies told about you",
    order=60,
    columns=(("notified_at", "When"), ("agency_name", "Agency"), ("event", "What")),
)
def notifications(constituent_id: str) -> list[dict]:
    """The events the hub wrote for agencies about this person (sent as webhooks)."""
    constituent = Constituent.objects.get(pk=constituent_id)
    subjects = [constituent.pk, *constituent.life_events.values_list("pk", flat=True)]
    with all_tenants():
        rows = Event.objects.filter(subject_id__in=subjects).select_related("tenant")
        return [
            {
                "notified_at": _when(e.created_at),
                "agency": e.tenant.slug,
                "agency_name": e.tenant.name,
                "event": e.type,
            }
            for e in rows.order_by("created_at", "pk")
        ]


def subject(constituent: Constituent) -> dict:
    return {
        "id": constituent.pk,
        "kind": constituent.kind,
        "status": constituent.status,
        "name": constituent.name,
        "date_of_birth": _day(constituent.date_of_birth),
        "address": constituent.address,
        "email": constituent.email,
        "phone": constituent.phone,
        "deceased_on": _day(constituent.deceased_on),
        "ceased_on": _day(constituent.ceased_on),
        "recorded_since": _when(constituent.created_at),
        "last_changed": _when(constituent.updated_at),
    }


def report(constituent: Constituent) -> dict:
    """The whole export as one JSON-able document: the record, then every section."""
    return {
        "generated_at": _when(timezone.now()),
        "legal_basis": "GDPR article 15 (right of access by the data subject)",
        "subject": subject(constituent),
        "sections": [
            {
                "key": section.key,
                "title": section.title,
                "columns": [list(column) for column in section.columns],
                "rows": section.collect(constituent.pk),
            }
            for section in sections()
        ],
    }


def agencies_named(document: dict) -> set[str]:
    """Every agency (slug) whose records the document discloses."""
    return {
        row["agency"]
        for section in document["sections"]
        for row in section["rows"]
        if isinstance(row, dict) and row.get("agency")
    }


def readable(value) -> str:
    """A cell of the readable export: no JSON brackets for the person to decipher."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_readable_change(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value)
    return str(value)


def _readable_change(value) -> str:
    if isinstance(value, list) and len(value) == 2:  # [old, new] of a version
        return f"{readable(value[0])} → {readable(value[1])}"
    return readable(value)


SUBJECT_LABELS = (
    ("id", "Record number"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("name", "Name"),
    ("date_of_birth", "Date of birth"),
    ("address", "Address"),
    ("email", "Email address"),
    ("phone", "Phone number"),
    ("deceased_on", "Date of death"),
    ("ceased_on", "Ceased trading on"),
    ("recorded_since", "Recorded since"),
    ("last_changed", "Last changed"),
)


def render_html(document: dict) -> str:
    subject_rows = [(label, readable(document["subject"][key])) for key, label in SUBJECT_LABELS]
    tables = [
        {
            "key": section["key"],
            "title": section["title"],
            "headings": [heading for _, heading in section["columns"]],
            "rows": [
                [readable(row.get(key)) for key, _ in section["columns"]] for row in section["rows"]
            ],
        }
        for section in document["sections"]
    ]
    return render_to_string(
        "registration/subject_access.html",
        {"document": document, "subject_rows": subject_rows, "tables": tables},
    )
