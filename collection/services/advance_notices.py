"""Advance notices: ask for each debit's notice in time, record it, hold what had none.

For an agency with ``advance_notices_by_hub`` (CollectionSettings):

* ``request_advance_notices`` (the daily job, before the run) publishes
  ``instalment.advance_notice_due`` for every first presentation whose notice window
  (collection/schemes/advance_notice.py) has opened, once per due date. The
  notifications app emails the notice and reports back through
  ``record_advance_notice``; the agency gets the webhook either way.
* ``record_advance_notice`` stores the day it was sent and, when that was in time for
  the instalment's current due date, that due date as noticed.
* ``hold_unnoticed_instalments`` is the run's one step: a first presentation due in the
  run whose noticed date is not its due date is not collected. It moves to the earliest
  due date a notice sent now still covers, says so (``instalment.rescheduled``, reason
  ``advance_notice_not_sent``, and a log line) and its new notice is asked for at once.

Retries (``retrying``) are announced by the failed-collection notice, which gives the
date of the next attempt; they are not held here.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from collection import events
from collection.models import CollectionSettings, Instalment
from collection.schemes import (
    Scheme,
    notice_deadline,
    notice_is_timely,
    notice_window_opens,
    rescheduled_due_date,
    submission_date,
)
from collection.selectors import collectable_instalments, collection_settings, due_instalments
from collection.services.payloads import instalment_payload
from hub.events.outbox import EventSpec, publish_many
from tenants.models import Tenant

logger = logging.getLogger(__name__)

BATCH = 200
ADVANCE_NOTICE_NOT_SENT = "advance_notice_not_sent"
# Furthest ahead a notice window can open, in calendar days: the longest agreed period
# (60 working days is under 90 calendar days) plus the send-ahead margin.
_LOOKAHEAD = dt.timedelta(days=100)


def _not_for(field: str, date_field: str = "due_date") -> Q:
    """``field`` is empty or another date than ``date_field`` (null-safe inequality)."""
    return (
        Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__lt": F(date_field)})
        | Q(**{f"{field}__gt": F(date_field)})
    )


def _notice_spec(instalment: Instalment, settings: CollectionSettings) -> EventSpec:
    scheme = Scheme(instalment.scheme)
    period = settings.advance_notice_days(scheme)
    mandate = instalment.mandate
    return EventSpec(
        instalment.tenant,
        events.INSTALMENT_ADVANCE_NOTICE_DUE,
        instalment.pk,
        {
            **instalment_payload(instalment),
            "constituent": mandate.constituent_id,
            "scheme": scheme.value,
            "mandate_reference": mandate.reference,
            "creditor_id": settings.creditor_id,
            "creditor_name": settings.creditor_name,
            "bacs_service_user_number": settings.bacs_service_user_number,
            "notice_period": period,
            "notice_deadline": notice_deadline(instalment.due_date, scheme, period).isoformat(),
        },
    )


def _move(instalment: Instalment, settings: CollectionSettings, *, today: dt.date) -> EventSpec:
    """Give ``instalment`` the earliest due date a notice sent now covers (unsaved)."""
    scheme = Scheme(instalment.scheme)
    old = instalment.due_date
    new = rescheduled_due_date(today, scheme, settings.advance_notice_days(scheme))
    instalment.due_date = instalment.collect_on = new
    instalment.submit_on = submission_date(new, scheme, buffer_days=settings.submission_buffer_days)
    instalment.advance_notice_for = instalment.advance_notice_sent_on = None
    instalment.updated_at = timezone.now()
    logger.info(
        "instalment %s not collected on %s: its advance notice was not sent in time; moved to %s",
        instalment.pk,
        old.isoformat(),
        new.isoformat(),
    )
    return EventSpec(
        instalment.tenant,
        events.INSTALMENT_RESCHEDULED,
        instalment.pk,
        {
            **instalment_payload(instalment),
            "previous_due_date": old.isoformat(),
            "reason": ADVANCE_NOTICE_NOT_SENT,
        },
    )


_MOVED_FIELDS = [
    "due_date",
    "collect_on",
    "submit_on",
    "advance_notice_for",
    "advance_notice_sent_on",
    "advance_notice_requested_for",
    "updated_at",
]


def request_advance_notices(*, tenant: Tenant, today: dt.date) -> int:
    """Ask for every notice whose window has opened; how many were asked for.

    A notice whose deadline has already passed (a plan agreed too close to its first
    date, a mandate active too late) is not sent for a date it cannot meet: the
    instalment moves first, and the notice announces the new date."""
    settings = collection_settings(tenant)
    if not settings.advance_notices_by_hub:
        return 0
    candidates = list(
        collectable_instalments(tenant)
        .filter(state=Instalment.State.SCHEDULED, due_date__lte=today + _LOOKAHEAD)
        .filter(_not_for("advance_notice_requested_for"))
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)
    )
    requested = 0
    for start in range(0, len(candidates), BATCH):
        with transaction.atomic():
            batch = list(
                Instalment.objects.select_for_update(of=("self",))
                .select_related("mandate", "tenant")
                .filter(pk__in=candidates[start : start + BATCH], state=Instalment.State.SCHEDULED)
                .filter(_not_for("advance_notice_requested_for"))
                .order_by("pk")
            )
            specs, changed = [], []
            for instalment in batch:
                scheme = Scheme(instalment.scheme)
                period = settings.advance_notice_days(scheme)
                if notice_window_opens(instalment.due_date, scheme, period) > today:
                    continue
                if notice_deadline(instalment.due_date, scheme, period) < today:
                    specs.append(_move(instalment, settings, today=today))
                instalment.advance_notice_requested_for = instalment.due_date
                specs.append(_notice_spec(instalment, settings))
                changed.append(instalment)
            if changed:
                Instalment.objects.bulk_update(changed, _MOVED_FIELDS)
                publish_many(specs)
            requested += len(changed)
    return requested


@transaction.atomic
def record_advance_notice(
    *, tenant: Tenant, instalment_id: str, due_date: dt.date, sent_on: dt.date
) -> bool:
    """The notice announcing ``due_date`` went out on ``sent_on``; True when it counts.

    It counts when the instalment still has that due date and the notice was in time for
    it; a late one is stored as sent but leaves the instalment unnoticed (the run moves
    it). Safe to call twice."""
    instalment = (
        Instalment.objects.select_for_update()
        .filter(tenant=tenant, pk=instalment_id, state=Instalment.State.SCHEDULED)
        .first()
    )
    if instalment is None or instalment.due_date != due_date:
        return False
    settings = collection_settings(tenant)
    scheme = Scheme(instalment.scheme)
    timely = notice_is_timely(due_date, sent_on, scheme, settings.advance_notice_days(scheme))
    if instalment.advance_notice_for == due_date:
        return True
    instalment.advance_notice_sent_on = sent_on
    instalment.advance_notice_for = due_date if timely else None
    instalment.updated_at = timezone.now()
    instalment.save(update_fields=["advance_notice_sent_on", "advance_notice_for", "updated_at"])
    return timely


def hold_unnoticed_instalments(*, tenant: Tenant, run_date: dt.date) -> int:
    """The run's step (inside its transaction): move what it may not collect; how many.

    Only first presentations of an agency whose notices the hub sends are held."""
    settings = collection_settings(tenant)
    if not settings.advance_notices_by_hub:
        return 0
    unnoticed = list(
        due_instalments(tenant, run_date)
        .filter(state=Instalment.State.SCHEDULED)
        .filter(_not_for("advance_notice_for"))
        .select_for_update(of=("self",))
        .select_related("mandate", "tenant")
        .order_by("pk")
    )
    if not unnoticed:
        return 0
    specs = []
    for instalment in unnoticed:
        specs.append(_move(instalment, settings, today=run_date))
        instalment.advance_notice_requested_for = instalment.due_date
        specs.append(_notice_spec(instalment, settings))
    Instalment.objects.bulk_update(unnoticed, _MOVED_FIELDS)
    publish_many(specs)
    return len(unnoticed)
