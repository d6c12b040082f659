"""Uploading the bank's pain.002 status report: all entries apply, or none."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collection.models import CollectionAttempt, Debt, Instalment, Mandate, ReturnFile
from collection.schemes import presented_batches
from collection.services import outcomes, runs
from payments.models import PaymentState
from tenants.scope import tenant_scope
from tests.collection.conftest import camt054, dispatch_pending, pain002
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


# --- Batch and group rejects: the bank lists no transaction, every one in it is rejected ---


@pytest.fixture
def two_batch_run(tenant, collections):
    """A bank-file run with two batches: two first collections (FRST) and one recurring
    (RCUR, its mandate presented before), 4.00 EUR each."""
    setups = [collections.debt_in_plan(amount=1200) for _ in range(3)]
    with tenant_scope(tenant):
        Mandate.objects.filter(pk=setups[2][1].pk).update(first_collection_presented=True)
        run = runs.start_run(tenant=tenant, run_date=LEAP_DAY, trigger="api", enqueue=False)
        run = runs.process_run(run=run)
        attempts = {
            a.sequence_type: a
            for a in CollectionAttempt.objects.filter(run=run).order_by("end_to_end_id")
        }
        frst = list(CollectionAttempt.objects.filter(run=run, sequence_type="FRST").order_by("pk"))
        with run.file.open("rb") as stored:
            batches = presented_batches(stored.read())
    by_e2e = {e2e: pmt_id for pmt_id, ids in batches.items() for e2e in ids}
    frst_batch = by_e2e[frst[0].end_to_end_id]
    rcur_batch = by_e2e[attempts["RCUR"].end_to_end_id]
    # An independent look at the file: two batches, the FRST one holding both first debits.
    assert frst_batch != rcur_batch
    assert set(batches[frst_batch]) == {a.end_to_end_id for a in frst}
    return run, frst, attempts["RCUR"], frst_batch, rcur_batch, setups


def status_report(message_id, original, batches, *, group_status="PART", group_reason=None):
    """pain.002.001.03 with batch-level statuses: ``batches`` = [(PmtInfId, PmtInfSts,
    reason or None, [TxInfAndSts xml, …])]."""

    def reason(code):
        return f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf>" if code else ""

    blocks = "".join(
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>{pmt_id}</OrgnlPmtInfId>"
        + (f"<PmtInfSts>{status}</PmtInfSts>" if status else "")
        + reason(code)
        + "".join(txs)
        + "</OrgnlPmtInfAndSts>"
        for pmt_id, status, code, txs in batches
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2024-03-01T07:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>{original}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
      <GrpSts>{group_status}</GrpSts>{reason(group_reason)}
    </OrgnlGrpInfAndSts>
    {blocks}
  </CstmrPmtStsRpt>
</Document>""".encode()


def _settle_and_reload(tenant, attempt_ids, day=dt.date(2024, 4, 2)):
    """The settlement path: the daily confirmation of matured bank-file debits."""
    with tenant_scope(tenant):
        confirmed = outcomes.confirm_matured_collections(tenant=tenant, today=day)
    dispatch_pending()
    with tenant_scope(tenant):
        rows = {
            a.pk: a
            for a in CollectionAttempt.objects.filter(pk__in=attempt_ids).select_related(
                "payment", "instalment__debt"
            )
        }
    return confirmed, rows


def test_a_rejected_batch_rejects_all_its_collections_and_settlement_confirms_none(
    tenant, two_batch_run
):
    run, frst, rcur, frst_batch, rcur_batch, _ = two_batch_run
    report = status_report(
        "STATUS-BATCH-1",
        run.file_message_id,
        [(frst_batch, "RJCT", "AM04", []), (rcur_batch, "ACCP", None, [])],
    )
    response = upload(client_for(tenant), report)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["entry_count"] == 2
    assert sorted(e["end_to_end_id"] for e in body["entries"]) == sorted(
        a.end_to_end_id for a in frst
    )
    assert {e["reason_code"] for e in body["entries"]} == {"AM04"}
    assert all(e["position"].startswith("OrgnlPmtInfAndSts[1]") for e in body["entries"])
    dispatch_pending()

    confirmed, rows = _settle_and_reload(tenant, [a.pk for a in frst] + [rcur.pk])
    assert confirmed == 1  # only the accepted batch's collection
    assert rows[rcur.pk].payment.state == PaymentState.SUCCESS
    for attempt in frst:
        row = rows[attempt.pk]
        debt = row.instalment.debt
        assert row.payment.state == PaymentState.FAILED
        assert row.failure_code == "AM04"
        assert row.instalment.state != Instalment.State.COLLECTED
        assert row.instalment.collected_at is None
        assert (debt.amount_collected, debt.amount_returned, debt.balance) == (0, 0, 1200)


def test_a_rejected_file_without_transactions_rejects_every_collection(tenant, two_batch_run):
    run, frst, rcur, *_ = two_batch_run
    report = status_report(
        "STATUS-GROUP-1", run.file_message_id, [], group_status="RJCT", group_reason="FF01"
    )
    response = upload(client_for(tenant), report)
    assert response.status_code == 201, response.content
    assert response.json()["entry_count"] == 3
    assert {e["reason_code"] for e in response.json()["entries"]} == {"FF01"}
    dispatch_pending()
    confirmed, rows = _settle_and_reload(tenant, [a.pk for a in frst] + [rcur.pk])
    assert confirmed == 0
    for row in rows.values():
        assert row.payment.state == PaymentState.FAILED
        assert row.instalment.debt.amount_collected == 0
        assert row.instalment.debt.balance == 1200


def test_reason_comes_from_whichever_level_gives_it(tenant, two_batch_run):
    run, frst, rcur, frst_batch, _, _ = two_batch_run
    own = (
        f"<TxInfAndSts><OrgnlEndToEndId>{frst[0].end_to_end_id}</OrgnlEndToEndId>"
        "<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>MD07</Cd></Rsn></StsRsnInf></TxInfAndSts>"
    )
    report = status_report(
        "STATUS-LEVELS-1",
        run.file_message_id,
        # The FRST batch is rejected without a reason of its own; one transaction has one.
        [(frst_batch, "RJCT", None, [own])],
        group_status="RJCT",
        group_reason="MS03",
    )
    response = upload(client_for(tenant), report)
    assert response.status_code == 201, response.content
    reasons = {e["end_to_end_id"]: e["reason_code"] for e in response.json()["entries"]}
    assert reasons == {
        frst[0].end_to_end_id: "MD07",  # its own
        frst[1].end_to_end_id: "MS03",  # batch silent: the group's
        rcur.end_to_end_id: "MS03",  # batch not mentioned, the group rejects it
    }


@pytest.mark.parametrize("case", ["accepted_inside_rejected_batch", "unknown_batch"])
def test_a_batch_reject_that_does_not_fit_the_file_is_refused_whole(tenant, two_batch_run, case):
    run, frst, _, frst_batch, _, _ = two_batch_run
    if case == "unknown_batch":
        batches = [(frst_batch, "RJCT", "AM04", []), ("NOT-OUR-BATCH", "RJCT", "AM04", [])]
    else:
        accepted = (
            f"<TxInfAndSts><OrgnlEndToEndId>{frst[0].end_to_end_id}</OrgnlEndToEndId>"
            "<TxSts>ACCP</TxSts></TxInfAndSts>"
        )
        batches = [(frst_batch, "RJCT", "AM04", [accepted])]
    response = upload(
        client_for(tenant), status_report("STATUS-BAD-1", run.file_message_id, batches)
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "inconsistent_report"
    assert "OrgnlPmtInfAndSts[" in error["message"]
    if case == "unknown_batch":
        assert "NOT-OUR-BATCH" in error["message"]
    with tenant_scope(tenant):
        assert not ReturnFile.objects.exists()
        states = set(
            CollectionAttempt.objects.filter(run=run).values_list("payment__state", flat=True)
        )
    assert states == {PaymentState.SUBMITTED}  # nothing applied


# --- camt.054 notifications: returns by original end-to-end id, same endpoint ---


def test_a_camt054_return_of_a_collected_debit_books_it_back(tenant, collected_run):
    from payments import services as payments

    _run, attempts, _ = collected_run
    payments.confirm_direct_debit(payment=attempts[0].payment, provisional_until=LEAP_DAY)
    dispatch_pending()
    notification = camt054(
        "NTF-2024-03-05",
        [(attempts[0].end_to_end_id, "MD06", "4.00"), (attempts[1].end_to_end_id, "AM04", "4.00")],
    )
    response = upload(client_for(tenant), notification, name="camt054.xml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["format"], body["message_id"], body["original_message_id"]) == (
        "camt.054",
        "NTF-2024-03-05",
        "",
    )
    assert [(e["end_to_end_id"], e["reason_code"]) for e in body["entries"]] == [
        (attempts[0].end_to_end_id, "MD06"),
        (attempts[1].end_to_end_id, "AM04"),
    ]
    dispatch_pending()
    confirmed, rows = _settle_and_reload(tenant, [a.pk for a in attempts])
    assert confirmed == 1  # the third, not returned
    returned, rejected = rows[attempts[0].pk], rows[attempts[1].pk]
    assert returned.returned and returned.failure_code == "MD06"
    debt = returned.instalment.debt
    assert (debt.amount_collected, debt.amount_returned, debt.balance) == (400, 400, 1200)
    assert rejected.payment.state == PaymentState.FAILED
    assert rejected.instalment.debt.amount_collected == 0
    assert rows[attempts[2].pk].payment.state == PaymentState.SUCCESS

    # The same notification again: recognised by its hash, nothing applied twice.
    again = upload(client_for(tenant), notification, name="copy.xml")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_a_camt054_naming_a_collection_we_do_not_have_is_refused_whole(tenant, collected_run):
    _run, attempts, _ = collected_run
    notification = camt054(
        "NTF-2", [(attempts[0].end_to_end_id, "MD06", "4.00"), ("SOMEONE-ELSES", "AM04", "1.00")]
    )
    response = upload(client_for(tenant), notification)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_end_to_end_id"
    assert "Ntfctn[1]/Ntry[2]" in error["message"]
    with tenant_scope(tenant):
        assert not ReturnFile.objects.exists()
        first = CollectionAttempt.objects.select_related("payment").get(pk=attempts[0].pk)
    assert first.payment.state == PaymentState.SUBMITTED


def test_files_that_are_neither_format_are_refused(tenant, collected_run):
    statement = (
        b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt/></Document>"
    )
    response = upload(client_for(tenant), statement)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_file"
    assert "/api/v1/statements" in response.json()["error"]["message"]
