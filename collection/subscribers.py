"""How collections react to other apps' events (run once per event, in its tenant scope)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from collection.services import outcomes, stopping
from hub.events.models import Event
from hub.events.subscribers import subscribe


def _date(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except (TypeError, ValueError):
        return default


@subscribe("payment.succeeded", name="collection.instalment_collected")
def instalment_collected(event: Event) -> None:
    if event.payload.get("method") != "direct_debit":
        return
    outcomes.apply_success(tenant=event.tenant, payment_id=event.subject_id)


@subscribe("payment.failed", name="collection.instalment_failed")
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


@subscribe("constituent.deceased", name="collection.stop_for_deceased")
def stop_for_deceased(event: Event) -> None:
    constituent_id = event.payload.get("constituent")
    if not constituent_id:
        return
    stopping.stop_collection_for_constituent(
        tenant=event.tenant,
        constituent_id=constituent_id,
        reason=f"constituent deceased on {event.payload.get('occurred_on', 'unknown date')}",
    )
