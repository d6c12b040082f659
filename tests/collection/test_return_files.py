"""Uploading the bank's pain.002 status report: all entries apply, or none."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collection.models import CollectionAttempt, Debt, Instalment, Mandate, ReturnFile
from collection.services import runs
from payments.models import PaymentState
from tenants.scope import tenant_scope
from tests.collection.conftest import dispatch_pending, pain002
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LEAP_DAY = dt.date(2024, 2, 29)


@pytest.fixture
def collected_run(tenant, collections):
    """A bank-file run of three first instalments (4.00 EUR each)."""
    setups = [collections.debt_in_plan(amount=1200) for _ in range(3)]
    with tenant_scope(tenant):
        run = runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api", enqueue=False)
        run = runs.process_run(run=run)
        attempts = list(
            CollectionAttempt.objects.filter(run=run).select_related("payment").order_by("pk")
        )
    return run, attempts, setups


def upload(api, content: bytes, name="status.xml"):
    return api.post(
        "/api/v1/collection-returns",
        {"file": SimpleUploadedFile(name, content, content_type="application/xml")},
        format="multipart",
    )


def test_rejects_in_the_report_fail_the_payments_and_the_rules_apply(tenant, collected_run):
    run, attempts, _ = collected_run
    api = client_for(tenant)
    report = pain002(
        "STATUS-1",
        run.file_message_id,
        [(attempts[0].end_to_end_id, "AM04", "4.00"), (attempts[1].end_to_end_id, "AC04", None)],
    )
    response = upload(api, report)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["entry_count"] == 2
    assert [(e["reason_code"], e["action"]) for e in body["entries"]] == [
        ("AM04", "retry"),
        ("AC04", "stop_cancel_mandate"),
    ]
    assert body["entries"][0]["position"].startswith("OrgnlPmtInfAndSts[1]/TxInfAndSts[1]")
    dispatch_pending()
    with tenant_scope(tenant):
        retried = Instalment.objects.get(pk=attempts[0].instalment_id)
        stopped = Instalment.objects.select_related("mandate").get(pk=attempts[1].instalment_id)
        untouched = CollectionAttempt.objects.select_related("payment").get(pk=attempts[2].pk)
    assert retried.state == Instalment.State.RETRYING
    assert stopped.state == Instalment.State.FAILED
    assert stopped.mandate.state == Mandate.State.FAILED  # never collected anything
    assert untouched.payment.state == PaymentState.SUBMITTED

    # The same file again: recognised, nothing applied twice.
    again = upload(api, report, name="status-copy.xml")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    with tenant_scope(tenant):
        assert ReturnFile.objects.count() == 1


def test_one_bad_entry_refuses_the_whole_file_with_its_position(tenant, collected_run):
    run, attempts, _ = collected_run
    api = client_for(tenant)
    report = pain002(
        "STATUS-2",
        run.file_message_id,
        [
            (attempts[0].end_to_end_id, "AM04", "4.00"),
            ("ATT-NOT-OURS", "AM04", "4.00"),
        ],
    )
    response = upload(api, report)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_end_to_end_id"
    assert error["field"] == "file"
    assert "OrgnlPmtInfAndSts[1]/TxInfAndSts[2]" in error["message"]
    dispatch_pending()
    with tenant_scope(tenant):
        first = CollectionAttempt.objects.select_related("payment").get(pk=attempts[0].pk)
        assert not ReturnFile.objects.exists()
    assert first.payment.state == PaymentState.SUBMITTED  # nothing applied


@pytest.mark.parametrize(
    "rejects,code",
    [
        ([("{e2e}", "AM04", "5.00")], "amount_mismatch"),
        ([("{e2e}", "", "4.00")], "missing_reason_code"),
        ([("{e2e}", "AM04", None), ("{e2e}", "AM04", None)], "duplicate_entry"),
    ],
)
def test_entries_that_do_not_match_what_was_collected_are_refused(
    tenant, collected_run, rejects, code
):
    run, attempts, _ = collected_run
    entries = [(e.format(e2e=attempts[0].end_to_end_id), r, a) for e, r, a in rejects]
    response = upload(client_for(tenant), pain002("STATUS-3", run.file_message_id, entries))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_report_about_a_file_we_never_sent_or_malformed_xml_is_refused(tenant, collected_run):
    _run, _attempts, _ = collected_run
    api = client_for(tenant)
    unknown = upload(api, pain002("STATUS-4", "SOMEONE-ELSES-FILE", []))
    assert unknown.json()["error"]["code"] == "unknown_original_message"
    broken = upload(api, b"<Document><CstmrPmtStsRpt>")
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_file"
    assert "line" in broken.json()["error"]["message"]


def test_a_return_after_collection_is_booked_back_on_the_debt(tenant, collections, collected_run):
    from payments import services as payments

    run, attempts, _setups = collected_run
    payments.confirm_direct_debit(payment=attempts[0].payment, provisional_until=LEAP_DAY)
    dispatch_pending()
    report = pain002("STATUS-5", run.file_message_id, [(attempts[0].end_to_end_id, "MD06", None)])
    assert upload(client_for(tenant), report).status_code == 201
    dispatch_pending()
    with tenant_scope(tenant):
        attempt = CollectionAttempt.objects.select_related("instalment__debt").get(
            pk=attempts[0].pk
        )
    debt = attempt.instalment.debt
    assert attempt.returned and attempt.failure_code == "MD06"
    assert (debt.amount_collected, debt.amount_returned, debt.balance) == (400, 400, 1200)
    assert debt.state == Debt.State.IN_ARREARS
