"""The advance-notice rule: no debit without a notice sent at least the required period
before its due date, across month ends, holidays, lead times and mail-server outages.

The pure rule is checked over every date and period; then whole days of the hub are
played (the daily notice step, the outbox, the run) on PostgreSQL, and every collection
attempt is checked against the notice that announced it, counted independently here.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core import mail
from django.test import override_settings
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collection.models import CollectionAttempt, Instalment
from collection.schemes import (
    Scheme,
    is_business_day,
    notice_deadline,
    notice_is_timely,
    notice_window_opens,
    rescheduled_due_date,
)
from collection.schemes.advance_notice import SEND_AHEAD_DAYS
from collection.selectors import due_instalments
from collection.services import daily
from hub.events import dispatch
from hub.events.models import Event
from notifications.models import Notice
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import Collections
from tests.collection.test_returns import run_on
from tests.notifications import backends
from tests.notifications.conftest import give_email

schemes = st.sampled_from([Scheme.SEPA_CORE, Scheme.BACS])
days = st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))


def period_for(scheme: Scheme, draw_value: int) -> int:
    return draw_value if scheme is Scheme.SEPA_CORE else 3 + draw_value % 8  # Bacs: 3..10


def working_days_between(sent_on: dt.date, due: dt.date) -> int:
    """Bacs working days after ``sent_on`` up to and including ``due``."""
    return sum(
        is_business_day(sent_on + dt.timedelta(days=n), Scheme.BACS)
        for n in range(1, (due - sent_on).days + 1)
    )


def independently_timely(due: dt.date, sent_on: dt.date, scheme: Scheme, period: int) -> bool:
    if scheme is Scheme.SEPA_CORE:
        return (due - sent_on).days >= period
    return working_days_between(sent_on, due) >= period


@given(due=days, scheme=schemes, raw_period=st.integers(1, 20))
def test_the_deadline_is_the_last_day_a_notice_is_in_time(due, scheme, raw_period):
    period = period_for(scheme, raw_period)
    deadline = notice_deadline(due, scheme, period)
    assert notice_is_timely(due, deadline, scheme, period)
    assert independently_timely(due, deadline, scheme, period)
    assert not notice_is_timely(due, deadline + dt.timedelta(days=1), scheme, period)
    assert not independently_timely(due, deadline + dt.timedelta(days=1), scheme, period)
    assert notice_window_opens(due, scheme, period) < deadline


@given(today=days, scheme=schemes, raw_period=st.integers(1, 20))
def test_a_moved_instalment_leaves_time_for_its_notice_and_retries(today, scheme, raw_period):
    period = period_for(scheme, raw_period)
    new_due = rescheduled_due_date(today, scheme, period)
    assert is_business_day(new_due, scheme)
    assert notice_deadline(new_due, scheme, period) >= today + dt.timedelta(days=SEND_AHEAD_DAYS)


def _dispatch_everything() -> None:
    """The outbox sweep over a day: every undispatched event is tried (failures stay)."""
    with all_tenants():
        pending = list(
            Event.objects.filter(dispatched_at__isnull=True)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
        )
    for event_id in pending:
        dispatch.dispatch_event(event_id)


_slugs = itertools.count()


@pytest.mark.postgres
@pytest.mark.django_db
@override_settings(EMAIL_BACKEND="tests.notifications.backends.FlakyBackend")
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scheme=schemes,
    raw_period=st.integers(1, 16),
    first_date=st.dates(dt.date(2024, 2, 1), dt.date(2026, 12, 31)),
    agreed_days_before=st.integers(0, 40),
    outage_days=st.sets(st.integers(0, 60), max_size=6),
)
def test_no_collection_without_a_notice_sent_the_required_period_before(
    make_tenant, scheme, raw_period, first_date, agreed_days_before, outage_days
):
    period = period_for(scheme, raw_period)
    agency = make_tenant(f"notice-{next(_slugs)}", name="Tax Office")
    setup = Collections(agency, provider="stripe" if scheme is Scheme.BACS else "bank_file")
    setup.update_settings(
        advance_notices_by_hub=True,
        sepa_advance_notice_days=period if scheme is Scheme.SEPA_CORE else 14,
        bacs_advance_notice_days=period if scheme is Scheme.BACS else 10,
        bacs_service_user_number="123456",
    )
    start = max(first_date - dt.timedelta(days=agreed_days_before), dt.date(2024, 1, 20))
    currency = "EUR" if scheme is Scheme.SEPA_CORE else "GBP"
    debt = setup.debt(amount=900, currency=currency)
    give_email(debt.constituent, "debtor@example.org")
    mandate = setup.mandate(debt.constituent, scheme=scheme.value, today=start)
    plan = setup.plan(
        debt, mandate, today=start, frequency="monthly", count=2, first_date=first_date
    )

    day = start
    for offset in range(120):
        day = start + dt.timedelta(days=offset)
        backends.refusals["left"] = 10**6 if offset in outage_days else 0
        with freeze_time(f"{day.isoformat()} 05:00"):
            with tenant_scope(agency):
                # The daily job's housekeeping: mandates, the notices, arrears, dunning.
                daily.maintain(tenant=agency, today=day)
            _dispatch_everything()
            with tenant_scope(agency):
                something_due = due_instalments(agency, day).exists()
            if something_due:  # a run with nothing due does nothing
                run_on(agency, day)
            _dispatch_everything()
        with tenant_scope(agency):
            if not plan.instalments.filter(state=Instalment.State.SCHEDULED).exists():
                break
    backends.refusals["left"] = 0

    with tenant_scope(agency):
        attempts = list(
            CollectionAttempt.objects.filter(instalment__plan=plan).select_related("instalment")
        )
        sent = list(
            Notice.objects.filter(kind="advance_notice", status=Notice.Status.SENT).select_related(
                "event"
            )
        )
        # Nothing is left behind: an instalment not presented is one not due yet.
        for waiting in plan.instalments.filter(state=Instalment.State.SCHEDULED):
            assert waiting.submit_on > day, f"{waiting.pk} overdue and never presented"
    for attempt in attempts:
        instalment = attempt.instalment
        assert attempt.collection_date >= instalment.due_date
        announcing = [
            notice
            for notice in sent
            if notice.subject_id == instalment.pk
            and notice.event.payload["due_date"] == instalment.due_date.isoformat()
        ]
        assert announcing, f"{instalment.pk} collected without a notice of {instalment.due_date}"
        assert any(
            independently_timely(instalment.due_date, notice.sent_at.date(), scheme, period)
            for notice in announcing
        ), f"{instalment.pk}: notice too late for {instalment.due_date}"
    mail.outbox.clear()
