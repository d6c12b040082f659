"""hub.bulk.insert: rows stored exactly as given, absent fields from their defaults, also
when the rows of one batch give different fields (the COPY path plans the columns from
the first row)."""

from __future__ import annotations

from datetime import date

import pytest

from hub import bulk
from reconciliation.models import ReconciliationRun
from tenants.scope import tenant_scope

pytestmark = pytest.mark.django_db


def test_rows_with_different_fields_keep_their_values_and_defaults(tenant):
    rows = [
        {
            "tenant_id": tenant.pk,
            "id": "rcr_given",
            "period_start": date(2024, 3, 1),
            "period_end": date(2024, 3, 1),
            "trigger": "api",
            "date_window_days": 3,
            "amount_tolerance": 0,
            "totals": {"EUR": {"received": 1250}},
        },
        # Leaves out the id and the totals, gives what the first left out.
        {
            "tenant_id": tenant.pk,
            "period_start": date(2024, 3, 2),
            "period_end": date(2024, 3, 3),
            "trigger": "schedule",
            "date_window_days": 0,
            "amount_tolerance": 5,
            "requested_by": "daily job",
            "state": "completed",
        },
        # The first row's fields again, JSON null-free but empty.
        {
            "tenant_id": tenant.pk,
            "id": "rcr_third",
            "period_start": date(2024, 3, 4),
            "period_end": date(2024, 3, 4),
            "trigger": "admin",
            "date_window_days": 1,
            "amount_tolerance": 1,
            "totals": {},
        },
    ]
    with tenant_scope(tenant):
        bulk.insert(ReconciliationRun, rows)
        runs = {run.period_start: run for run in ReconciliationRun.objects.all()}

    first, second, third = (runs[date(2024, 3, day)] for day in (1, 2, 4))
    assert first.pk == "rcr_given"
    assert first.totals == {"EUR": {"received": 1250}}
    assert first.requested_by == "" and first.state == "running"
    assert first.created_at is not None and first.daily == {}
    assert second.pk.startswith("rcr_") and len(second.pk) == len("rcr_") + 24
    assert second.totals == {} and second.requested_by == "daily job"
    assert second.state == "completed" and second.amount_tolerance == 5
    assert second.period_end == date(2024, 3, 3)
    assert third.pk == "rcr_third" and third.totals == {} and third.trigger == "admin"


def test_a_row_of_another_agency_is_refused(tenant, other_tenant):
    row = {
        "tenant_id": other_tenant.pk,
        "period_start": date(2024, 3, 1),
        "period_end": date(2024, 3, 1),
        "trigger": "api",
        "date_window_days": 0,
        "amount_tolerance": 0,
    }
    with tenant_scope(tenant), pytest.raises(ValueError, match="must belong"):
        bulk.insert(ReconciliationRun, [row])
    with tenant_scope(other_tenant):
        assert not ReconciliationRun.objects.exists()
