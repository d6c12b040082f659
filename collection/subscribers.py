"""How collections react to other apps' events (run once per event, in its tenant scope).

Event types are imported from the app that publishes them: a renamed type then breaks
the import here, instead of silently never matching a string again.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from collection.services import outcomes, stopping
from hub.events.models import Event
from hub.events.subscribers import subscribe
from payments.events import PAYMENT_FAILED, PAYMENT_SUCCEEDED
from registration import selectors as registration_selectors
from registration import services as registration_services
from registration.events import CONSTITUENT_DECEASED


def _date(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except (TypeError, ValueError):
        return default


@subscribe(PAYMENT_SUCCEEDED, name="collection.instalment_collected")
def instalment_collected(event: Event) -> None:
    if event.payload.get("method") != "direct_debit":
        return
    outcomes.apply_success(tenant=event.tenant, payment_id=event.subject_id)


@subscribe(PAYMENT_FAILED, name="collection.instalment_failed")
def instalment_failed(event: Event) -> None:
    payload = event.payload
    if payload.get("method") != "direct_debit":
        return
    reason = payload.get("reason_code") or payload.get("failure_code") or ""
    outcomes.apply_failure(
        tenant=event.tenant,
        payment_id=event.subject_id,
        reason_code=reason,
        failed_on=_date(payload.get("returned_on"), timezone.localdate()),
    )


@subscribe(CONSTITUENT_DECEASED, name="collection.stop_for_deceased")
def stop_for_deceased(event: Event) -> None:
    constituent_id = event.payload.get("constituent")
    if not constituent_id:
        return
    stopped = stopping.stop_collection_for_constituent(
        tenant=event.tenant,
        constituent_id=constituent_id,
        reason=f"constituent deceased on {event.payload.get('occurred_on', 'unknown date')}",
    )
    _answer_the_death(event, stopped)


def _answer_the_death(event: Event, stopped: dict) -> None:
    """Collections' reaction is the agency's answer to the death, when it did something:
    an agency the person owed nothing still answers for its other services itself."""
    if not any(stopped.values()):
        return
    life_event = registration_selectors.life_event(event.payload.get("life_event") or "")
    if life_event is None:
        return
    parts = [
        f"{count} {what.replace('_', ' ')}"
        for what, count in (
            ("debts_suspended", stopped["debts_suspended"]),
            ("payment_plans_cancelled", stopped["plans_cancelled"]),
            ("direct_debit_mandates_cancelled", stopped["mandates_cancelled"]),
        )
        if count
    ]
    registration_services.record_life_event_response(
        tenant=event.tenant,
        actor="hub:collections",
        life_event=life_event,
        outcome="actioned",
        text="Collections stopped: " + ", ".join(parts),
        automatic=True,
    )
