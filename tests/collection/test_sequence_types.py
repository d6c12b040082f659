"""SEPA sequence types: OOFF for one-off mandates, FRST, RCUR, and FNAL where a plan ends
its mandate. Checked on the attempts and in the pain.008 file the bank receives."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from collection.models import CollectionAttempt, Instalment
from collection.services import outcomes, runs
from hub.errors import RuleViolation
from tenants.scope import tenant_scope
from tests.collection.conftest import dispatch_pending
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LEAP_DAY = dt.date(2024, 2, 29)  # submission day of an instalment due Friday 1 March 2024


def run_for(tenant, run_date):
    with tenant_scope(tenant):
        run = runs.start_run(tenant=tenant, run_date=run_date, trigger="api", enqueue=False)
        return runs.process_run(run=run)


def settle(tenant, day):
    with tenant_scope(tenant):
        outcomes.confirm_matured_collections(tenant=tenant, today=day)
    dispatch_pending()


def file_sequence_types(run) -> dict[str, str]:
    """End-to-end id -> SeqTp of its batch, read from the file itself."""
    document = etree.fromstring(run.file.read())
    found = {}
    for batch in document.iterfind(".//{*}PmtInf"):
        sequence = batch.findtext("{*}PmtTpInf/{*}SeqTp")
        for e2e in batch.iterfind("{*}DrctDbtTxInf/{*}PmtId/{*}EndToEndId"):
            found[e2e.text] = sequence
    return found


def presented(tenant, run) -> list[tuple[int, str]]:
    with tenant_scope(tenant):
        attempts = CollectionAttempt.objects.filter(run=run).select_related("instalment")
        rows = [(a.instalment.sequence, a.sequence_type, a.end_to_end_id) for a in attempts]
    in_file = file_sequence_types(run)
    for _, sequence_type, e2e in rows:
        assert in_file[e2e] == sequence_type  # the file says what the attempt says
    return sorted((sequence, sequence_type) for sequence, sequence_type, _ in rows)


def test_a_one_off_mandate_is_collected_once_as_ooff(tenant, collections):
    debt = collections.debt(amount=5000)
    mandate = collections.mandate(debt.constituent, usage="one_off")
    collections.plan(debt, mandate, count=1)
    run = run_for(tenant, LEAP_DAY)
    assert presented(tenant, run) == [(1, "OOFF")]

    # One collection only: a plan of two, or a second plan, is refused.
    other = collections.debt(amount=300, constituent=debt.constituent)
    with pytest.raises(RuleViolation) as refused:
        collections.plan(other, mandate, count=1)
    assert refused.value.code == "one_off_mandate_used"
    fresh = collections.mandate(debt.constituent, usage="one_off")
    with pytest.raises(RuleViolation) as refused:
        collections.plan(other, fresh, count=2)
    assert refused.value.code == "one_off_mandate_single_collection"


def test_a_rejected_ooff_is_presented_again_as_ooff(tenant, collections):
    from payments import services as payments

    debt = collections.debt(amount=5000)
    mandate = collections.mandate(debt.constituent, usage="one_off")
    collections.plan(debt, mandate, count=1)
    run = run_for(tenant, LEAP_DAY)
    with tenant_scope(tenant):
        attempt = CollectionAttempt.objects.select_related("payment").get(run=run)
    payments.fail_direct_debit(payment=attempt.payment, code="AM04", message="no funds")
    dispatch_pending()
    with tenant_scope(tenant):
        instalment = Instalment.objects.get(pk=attempt.instalment_id)
    assert instalment.state == Instalment.State.RETRYING
    retry = run_for(tenant, instalment.submit_on)
    assert presented(tenant, retry) == [(1, "OOFF")]


@pytest.mark.parametrize(("ends_mandate", "last"), [(True, "FNAL"), (False, "RCUR")])
def test_the_last_instalment_of_a_plan_that_ends_its_mandate_is_fnal(
    tenant, collections, ends_mandate, last
):
    _debt, _mandate, plan = collections.debt_in_plan(amount=1200, ends_mandate=ends_mandate)
    first = run_for(tenant, LEAP_DAY)
    assert presented(tenant, first) == [(1, "FRST")]
    settle(tenant, dt.date(2024, 3, 1))
    with tenant_scope(tenant):
        second_day, third_day = [
            i.submit_on for i in Instalment.objects.filter(plan=plan).order_by("sequence")[1:]
        ]
    second = run_for(tenant, second_day)
    assert presented(tenant, second) == [(2, "RCUR")]
    settle(tenant, dt.date(2024, 4, 2))
    third = run_for(tenant, third_day)
    assert presented(tenant, third) == [(3, last)]


def test_no_fnal_while_an_earlier_instalment_still_waits(tenant, collections):
    _debt, _mandate, plan = collections.debt_in_plan(amount=1200, ends_mandate=True)
    run_for(tenant, LEAP_DAY)
    settle(tenant, dt.date(2024, 3, 1))
    with tenant_scope(tenant):
        second, third = Instalment.objects.filter(plan=plan).order_by("sequence")[1:]
        # The second instalment failed and waits for a retry after the third is due.
        Instalment.objects.filter(pk=second.pk).update(
            state=Instalment.State.RETRYING, submit_on=third.submit_on + dt.timedelta(days=7)
        )
    run = run_for(tenant, third.submit_on)
    assert presented(tenant, run) == [(3, "RCUR")]


def test_a_plan_that_ends_its_mandate_is_its_last_plan(tenant, collections):
    debt, mandate, plan = collections.debt_in_plan(amount=1200, ends_mandate=True)
    api = client_for(tenant)
    body = api.get(f"/api/v1/payment-plans/{plan.pk}").json()
    assert body["ends_mandate"] is True
    other = collections.debt(amount=600, constituent=debt.constituent)
    response = api.post(
        "/api/v1/payment-plans",
        {
            "debt": other.pk,
            "mandate": mandate.pk,
            "frequency": "monthly",
            "count": 2,
            "first_date": "2030-01-01",
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "mandate_ends_with_plan"

    # And a plan cannot end a mandate another active plan still collects through.
    shared = collections.mandate(debt.constituent)
    third = collections.debt(amount=900, constituent=debt.constituent)
    fourth = collections.debt(amount=900, constituent=debt.constituent)
    collections.plan(third, shared)
    response = api.post(
        "/api/v1/payment-plans",
        {
            "debt": fourth.pk,
            "mandate": shared.pk,
            "frequency": "monthly",
            "count": 2,
            "first_date": "2030-01-01",
            "ends_mandate": True,
        },
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "mandate_in_use"


def test_one_off_mandates_through_the_api(tenant, collections):
    constituent = collections.constituent()
    api = client_for(tenant)
    created = api.post(
        "/api/v1/mandates",
        {
            "constituent": constituent.pk,
            "scheme": "sepa_core",
            "usage": "one_off",
            "signed_on": "2024-01-02",
            "account_holder_name": "J. Jansen",
            "iban": "DE89370400440532013000",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["usage"] == "one_off"
    wrong = api.post(
        "/api/v1/mandates",
        {
            "constituent": constituent.pk,
            "scheme": "sepa_core",
            "usage": "sometimes",
            "signed_on": "2024-01-02",
            "account_holder_name": "J. Jansen",
            "iban": "DE89370400440532013000",
        },
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["field"] == "usage"
