"""Collection runs with bank files: selection, payments, the pain.008 file, totals, API."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
from django.db import IntegrityError, transaction
from lxml import etree

from collection.models import (
    CollectionAttempt,
    CollectionChunk,
    CollectionRun,
    Instalment,
    Mandate,
)
from collection.services import daily, runs
from payments.models import Payment, PaymentMethod, PaymentState
from tenants.scope import tenant_scope
from tests.collection.conftest import dispatch_pending, events_of
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LEAP_DAY = dt.date(2024, 2, 29)  # submission day of the instalment due Friday 1 March 2024


def run_for(tenant, run_date, **kwargs):
    with tenant_scope(tenant):
        run = runs.start_run(tenant=tenant, run_date=run_date, trigger="api", enqueue=False)
        return runs.process_run(run=run, **kwargs)


def official_xsd(version: str = "pain.008.001.08") -> etree.XMLSchema:
    xsd = resources.files("sepaxml") / "schemas" / f"{version}.xsd"
    return etree.XMLSchema(etree.fromstring(xsd.read_bytes()))


@pytest.mark.parametrize("version", [None, "pain.008.001.08", "pain.008.001.02"])
def test_a_run_presents_what_is_due_and_writes_a_valid_pain008(tenant, collections, version):
    # None: the agency never chose, so the default (.08, today's rulebook) applies.
    if version is not None:
        collections.update_settings(pain008_version=version)
    expected = version or "pain.008.001.08"
    plans = [collections.debt_in_plan(amount=1000 + n)[2] for n in range(3)]
    run = run_for(tenant, LEAP_DAY)

    assert run.state == CollectionRun.State.COMPLETED
    assert run.selected_count == run.submitted_count == 3
    assert run.totals == {"EUR": {"count": 3, "amount": 1002}}
    with tenant_scope(tenant):
        attempts = list(CollectionAttempt.objects.filter(run=run).select_related("payment"))
        first_instalments = Instalment.objects.filter(plan__in=plans, sequence=1)
        assert {i.state for i in first_instalments} == {Instalment.State.SUBMITTED}
        assert (
            Instalment.objects.filter(plan__in=plans, sequence__gt=1, attempt_count=0).count() == 6
        )
    for attempt in attempts:
        payment = attempt.payment
        assert payment.method == PaymentMethod.DIRECT_DEBIT
        assert payment.provider == "bank_file"
        assert payment.state == PaymentState.SUBMITTED
        assert payment.provider_reference == attempt.end_to_end_id
        assert attempt.collection_date == dt.date(2024, 3, 1)
        assert attempt.sequence_type == "FRST"

    xml = run.file.read()
    document = etree.fromstring(xml)
    schema = official_xsd(expected)
    assert schema.validate(document), schema.error_log
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{expected}"}
    assert etree.QName(document).namespace == ns["p"]
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "3"
    assert document.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == run.file_message_id
    end_to_end = {e.text for e in document.iterfind(".//p:EndToEndId", namespaces=ns)}
    assert end_to_end == {a.end_to_end_id for a in attempts}
    assert {e.text for e in document.iterfind(".//p:ReqdColltnDt", namespaces=ns)} == {"2024-03-01"}
    [completed] = events_of("collection_run.completed", run.pk)
    assert completed.payload["totals"] == run.totals


def test_the_day_before_the_submission_day_selects_nothing(tenant, collections):
    collections.debt_in_plan()
    run = run_for(tenant, LEAP_DAY - dt.timedelta(days=1))
    assert run.state == CollectionRun.State.COMPLETED
    assert run.selected_count == 0
    assert not run.file


def test_second_instalment_uses_rcur_once_the_mandate_presented_a_first(tenant, collections):
    _debt, _mandate, _plan = collections.debt_in_plan()
    run_for(tenant, LEAP_DAY)
    # Due Easter Monday 1 April 2024 (TARGET closed): settles Tuesday 2 April, submitted
    # Thursday 28 March because Good Friday 29 March is closed too.
    run = run_for(tenant, dt.date(2024, 3, 28))
    with tenant_scope(tenant):
        [attempt] = CollectionAttempt.objects.filter(run=run)
    assert attempt.instalment.sequence == 2
    assert attempt.sequence_type == "RCUR"
    assert attempt.collection_date == dt.date(2024, 4, 2)


def test_many_chunks_each_done_and_the_run_completes_once(tenant, collections):
    collections.update_settings(chunk_size=2)
    for _ in range(5):
        collections.debt_in_plan()
    run = run_for(tenant, LEAP_DAY, batch_size=1)
    with tenant_scope(tenant):
        chunks = list(CollectionChunk.objects.filter(run=run).order_by("number"))
        assert [len(c.instalment_ids) for c in chunks] == [2, 2, 1]
        assert {c.state for c in chunks} == {CollectionChunk.State.DONE}
        assert CollectionAttempt.objects.filter(run=run).count() == 5
        # Finishing again changes nothing and publishes nothing.
        runs.finish_run(run=run)
    assert len(events_of("collection_run.completed", run.pk)) == 1


def test_running_a_chunk_again_collects_nothing_twice(tenant, collections):
    for _ in range(3):
        collections.debt_in_plan()
    run = run_for(tenant, LEAP_DAY)
    with tenant_scope(tenant):
        # As if the task were redelivered before the run was marked complete.
        CollectionRun.objects.filter(pk=run.pk).update(state=CollectionRun.State.RUNNING)
        chunk = CollectionChunk.objects.get(run=run)
        CollectionChunk.objects.filter(pk=chunk.pk).update(state=CollectionChunk.State.PENDING)
        outcome = runs.collect_chunk(chunk=chunk)
        assert outcome.submitted == 0 and outcome.done
        second = runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api", enqueue=False)
        assert second.selected_count == 0
    with tenant_scope(tenant):
        assert Payment.objects.count() == 3
        assert CollectionAttempt.objects.count() == 3


def test_the_database_refuses_a_second_attempt_with_the_same_number(tenant, collections):
    collections.debt_in_plan()
    run = run_for(tenant, LEAP_DAY)
    with tenant_scope(tenant):
        attempt = CollectionAttempt.objects.get(run=run)
        duplicate = CollectionAttempt(
            tenant=tenant,
            instalment=attempt.instalment,
            run=run,
            number=attempt.number,
            scheme=attempt.scheme,
            amount=attempt.amount,
            currency=attempt.currency,
            sequence_type="RCUR",
            collection_date=attempt.collection_date,
            end_to_end_id="OTHER-ID",
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            duplicate.save()


def test_paused_runs_refuse_to_start_and_stop_between_batches(tenant, collections):
    collections.debt_in_plan()
    collections.update_settings(runs_paused=True, paused_reason="bank migration")
    api = client_for(tenant)
    response = api.post("/api/v1/collection-runs", {"run_date": "2024-02-29"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "runs_paused"

    collections.update_settings(runs_paused=False)
    with tenant_scope(tenant):
        run = runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api", enqueue=False)
    collections.update_settings(runs_paused=True)
    with tenant_scope(tenant):
        chunk = CollectionChunk.objects.get(run=run)
        assert runs.collect_chunk(chunk=chunk).paused
        assert CollectionAttempt.objects.count() == 0
    collections.update_settings(runs_paused=False)
    with tenant_scope(tenant):
        assert runs.process_run(run=run).submitted_count == 1


def test_the_creditor_bic_is_needed_for_02_files_only(tenant, collections):
    collections.debt_in_plan()
    collections.update_settings(creditor_bic="", pain008_version="pain.008.001.02")
    response = client_for(tenant).post("/api/v1/collection-runs", {}, format="json")
    assert response.status_code == 422
    assert "creditor_bic is not set" in response.json()["error"]["message"]
    collections.update_settings(pain008_version="pain.008.001.08")
    run = run_for(tenant, LEAP_DAY)
    assert run.state == CollectionRun.State.COMPLETED, run.error
    document = etree.fromstring(run.file.read())
    assert official_xsd().validate(document)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
    assert document.findtext(".//p:CdtrAgt//p:Othr/p:Id", namespaces=ns) == "NOTPROVIDED"


def test_incomplete_creditor_details_refuse_the_run(tenant, collections):
    collections.update_settings(creditor_id="")
    response = client_for(tenant).post("/api/v1/collection-runs", {"run_date": "2024-02-29"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "collection_settings_incomplete"
    assert "creditor_id" in response.json()["error"]["message"]


def test_the_daily_job_runs_once_per_day_and_records_set_up_problems(tenant, collections):
    collections.debt_in_plan()
    with tenant_scope(tenant):
        first = daily.run_day(tenant=tenant, today=LEAP_DAY)
        again = daily.run_day(tenant=tenant, today=LEAP_DAY)
        assert first.run == again.run
        assert CollectionRun.objects.filter(run_date=LEAP_DAY).count() == 1
        # Saturday: neither TARGET2 nor Bacs settles, so there is no run at all.
        assert daily.run_day(tenant=tenant, today=dt.date(2024, 3, 2)).run is None
    collections.update_settings(creditor_iban="")
    with tenant_scope(tenant):
        report = daily.run_day(tenant=tenant, today=dt.date(2024, 3, 4))
        failed = CollectionRun.objects.get(pk=report.run)
    assert failed.state == CollectionRun.State.FAILED
    assert "creditor_iban" in failed.error
    assert events_of("collection_run.failed", failed.pk)


def test_an_agency_with_nothing_due_gets_no_failed_run_for_its_incomplete_set_up(
    tenant, collections
):
    # An agency that does not collect (no creditor details, no plans) on a business day.
    collections.update_settings(creditor_id="", creditor_iban="")
    with tenant_scope(tenant):
        assert daily.run_day(tenant=tenant, today=LEAP_DAY).run is None
        assert not CollectionRun.objects.exists()
    assert not events_of("collection_run.failed")


def test_api_starts_a_run_and_reads_it_back_with_totals_and_file(tenant, collections):
    collections.debt_in_plan(amount=900)
    api = client_for(tenant, ["collections:read", "collections:write"])
    response = api.post(
        "/api/v1/collection-runs", {"run_date": "2024-02-29"}, HTTP_IDEMPOTENCY_KEY="run-1"
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    assert response.json()["selected_count"] == 1
    with tenant_scope(tenant):
        runs.process_run(run=CollectionRun.objects.get(pk=run_id))

    body = api.get(f"/api/v1/collection-runs/{run_id}").json()
    assert body["state"] == "completed"
    assert body["totals"] == {"EUR": {"count": 1, "amount": 300}}
    assert body["attempts_by_state"] == {"submitted": {"EUR": {"count": 1, "amount": 300}}}
    assert body["file"] == f"/api/v1/collection-runs/{run_id}/file"

    download = api.get(body["file"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/xml"
    assert official_xsd().validate(etree.fromstring(b"".join(download.streaming_content)))

    read_only = client_for(tenant, ["collections:read"])
    assert read_only.get(f"/api/v1/collection-runs/{run_id}").status_code == 200
    refused = read_only.post("/api/v1/collection-runs", {"run_date": "2024-02-29"})
    assert refused.status_code == 403


def test_file_of_a_run_still_collecting_is_a_conflict(tenant, collections):
    collections.debt_in_plan()
    api = client_for(tenant)
    run_id = api.post("/api/v1/collection-runs", {"run_date": "2024-02-29"}).json()["id"]
    response = api.get(f"/api/v1/collection-runs/{run_id}/file")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "run_not_finished"


def test_maturity_confirms_settled_debits_and_the_instalment_is_collected(tenant, collections):
    debt, mandate, _plan = collections.debt_in_plan(amount=1200)
    run = run_for(tenant, LEAP_DAY)
    with tenant_scope(tenant):
        assert daily.maintain(tenant=tenant, today=LEAP_DAY).collections_confirmed == 0
        assert daily.maintain(tenant=tenant, today=dt.date(2024, 3, 1)).collections_confirmed == 1
    dispatch_pending()
    with tenant_scope(tenant):
        attempt = CollectionAttempt.objects.select_related("payment", "instalment").get(run=run)
        debt.refresh_from_db()
        mandate.refresh_from_db()
    assert attempt.payment.state == PaymentState.SUCCESS
    # SEPA: returns are possible until D+5 TARGET business days.
    assert attempt.payment.provisional_until == dt.date(2024, 3, 8)
    assert attempt.state == CollectionAttempt.State.COLLECTED
    assert attempt.instalment.state == Instalment.State.COLLECTED
    assert (debt.balance, debt.amount_collected) == (800, 400)
    assert mandate.ever_collected and mandate.state == Mandate.State.ACTIVE
    assert events_of("instalment.collected", attempt.instalment_id)


def test_a_run_dated_beyond_today_plus_the_lead_time_is_refused(tenant, collections):
    from django.utils import timezone

    from collection.schemes import latest_run_date

    collections.debt_in_plan()
    today = timezone.localdate()
    latest = latest_run_date(today)
    api = client_for(tenant)

    two_months = api.post(
        "/api/v1/collection-runs", {"run_date": (today + dt.timedelta(days=60)).isoformat()}
    )
    just_past = api.post(
        "/api/v1/collection-runs", {"run_date": (latest + dt.timedelta(days=1)).isoformat()}
    )

    for refused in (two_months, just_past):
        assert refused.status_code == 422, refused.content
        error = refused.json()["error"]
        assert (error["type"], error["code"], error["field"]) == (
            "rule_violation",
            "run_date_too_far_ahead",
            "run_date",
        )
        assert latest.isoformat() in error["message"]
    with tenant_scope(tenant):
        assert CollectionRun.objects.count() == 0
        assert CollectionAttempt.objects.count() == 0
    # At the limit itself a run starts (a file prepared ahead of the bank's cut-off).
    at_limit = api.post("/api/v1/collection-runs", {"run_date": latest.isoformat()})
    assert at_limit.status_code == 201, at_limit.content
