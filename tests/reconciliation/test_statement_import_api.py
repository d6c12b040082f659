"""Uploading bank statements through the API: every fixture format, malformed files
refused whole, and the same statement twice changing nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciliation.models import BankStatement, StatementImport, StatementLine
from reconciliation.services import imports
from tenants.scope import tenant_scope
from tests.conftest import client_for
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import FIXTURES, upload

pytestmark = pytest.mark.django_db
MAKE_CAMT053 = Path(__file__).resolve().parents[2] / "bench" / "reconciliation" / "make_camt053.py"


def stored(tenant) -> tuple[int, int, int]:
    with tenant_scope(tenant):
        return (
            StatementImport.objects.count(),
            BankStatement.objects.count(),
            StatementLine.objects.count(),
        )


@pytest.mark.parametrize(
    ("fixture", "format_", "statements", "lines"),
    [
        ("camt053_v02_normal_day.xml", "camt.053.001.02", 1, 4),
        ("camt053_v02_sepa_dd_return.xml", "camt.053.001.02", 1, 2),
        ("camt053_v08_normal_day.xml", "camt.053.001.08", 1, 3),
        ("camt053_v08_batch.xml", "camt.053.001.08", 1, 2),
        ("camt053_v08_reversal.xml", "camt.053.001.08", 1, 3),
        ("camt053_v08_missing_references.xml", "camt.053.001.08", 1, 3),
        ("camt053_v08_multi_currency.xml", "camt.053.001.08", 4, 5),
        ("mt940_normal_day.sta", "mt940", 1, 4),
        ("mt940_sepa_dd_return.sta", "mt940", 1, 3),
        ("mt940_reversal.sta", "mt940", 1, 3),
        ("mt940_missing_references.sta", "mt940", 1, 2),
        ("mt940_multi_currency.sta", "mt940", 3, 4),
    ],
)
def test_every_format_imports_through_the_api(
    finance_api, tenant, fixture, format_, statements, lines
):
    response = upload(finance_api, FIXTURES / fixture)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"].startswith("sti_")
    assert (body["format"], body["statement_count"], body["line_count"]) == (
        format_,
        statements,
        lines,
    )
    assert body["file_name"] == fixture
    assert len(body["content_sha256"]) == 64
    assert stored(tenant) == (1, statements, lines)
    for statement in body["statements"]:
        assert statement["id"].startswith("stm_") and statement["channel"] == "bank"


def test_batch_entries_keep_every_transaction_detail(finance_api):
    body = upload(finance_api, FIXTURES / "camt053_v08_batch.xml").json()

    lines = finance_api.get("/api/v1/statement-lines", {"statement_import": body["id"]}).json()
    batch = next(line for line in lines["results"] if line["amount"] == 30000)
    assert batch["batch_reference"] == "COLLRUN-2024-03-06"
    assert [d["end_to_end_id"] for d in batch["details"]] == ["DD-0001", "DD-0002", "DD-0003"]
    assert [d["amount"] for d in batch["details"]] == [10000, 12550, 7450]
    assert batch["details"][1]["creditor_reference"] == "RF18539007547034"
    assert batch["match"] is None


def test_reversals_returns_and_signs_are_kept(finance_api):
    upload(finance_api, FIXTURES / "camt053_v08_reversal.xml")
    upload(finance_api, FIXTURES / "mt940_sepa_dd_return.sta")

    lines = finance_api.get("/api/v1/statement-lines", {"limit": 50}).json()["results"]
    by_reference = {line["entry_reference"]: line for line in lines}
    assert by_reference["B-0002"]["amount"] == -7500
    assert by_reference["B-0002"]["is_reversal"] is True
    assert by_reference["B-0003"]["amount"] == 2000
    assert by_reference["RET-0002"]["return_reason_code"] == "AM04"
    assert by_reference["RET-0002"]["amount"] == -4995


def test_several_currencies_in_one_file(finance_api):
    body = upload(finance_api, FIXTURES / "camt053_v08_multi_currency.xml").json()

    currencies = {s["currency"]: s for s in body["statements"]}
    assert set(currencies) == {"EUR", "USD", "JPY", "BHD"}
    assert currencies["JPY"]["closing_balance"] == 15000
    assert currencies["BHD"]["closing_balance"] == -1234
    usd = finance_api.get("/api/v1/statement-lines", {"currency": "USD"}).json()["results"]
    assert sorted(line["amount"] for line in usd) == [25, 250075]


def test_entries_without_references_are_imported_as_they_are(finance_api):
    upload(finance_api, FIXTURES / "camt053_v08_missing_references.xml")

    lines = finance_api.get("/api/v1/statement-lines").json()["results"]
    assert sorted(line["amount"] for line in lines) == [-500, 1000, 2000]
    assert all(not d["end_to_end_id"] for line in lines for d in line["details"])


@pytest.mark.parametrize(
    ("fixture", "code", "position", "words"),
    [
        ("camt053_v08_bad_amount_entry3.xml", "invalid_statement", 3, "'abc' is not a decimal"),
        ("camt053_v02_truncated.xml", "invalid_statement", 2, "malformed XML"),
        ("mt940_bad_61_entry2.sta", "invalid_statement", 2, "does not parse"),
        ("mt940_missing_60f.sta", "invalid_statement", None, "no opening balance"),
        ("mt940_currency_mismatch.sta", "invalid_statement", None, "does not match"),
        ("not_camt053_pain001.xml", "invalid_statement", None, "unrecognised statement format"),
    ],
)
def test_a_malformed_file_is_refused_whole(finance_api, tenant, fixture, code, position, words):
    response = upload(finance_api, FIXTURES / fixture)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["code"] == code
    assert error["field"] == "file"
    assert words in error["message"]
    assert "Nothing was imported" in error["message"]
    assert error.get("position") == position
    if position is not None:
        assert error["message"].startswith(f"Entry {position}:")
    assert stored(tenant) == (0, 0, 0)


def test_a_statement_that_does_not_add_up_is_refused(finance_api, tenant, today):
    content = camt053([Entry(1000), Entry(2500)], booked=today, opening=0, closing=3000)

    response = upload(finance_api, content)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "balance_mismatch"
    assert "gives 3500, but the closing balance is 3000" in response.json()["error"]["message"]
    assert stored(tenant) == (0, 0, 0)


def test_a_bad_second_statement_rolls_back_the_first(finance_api, tenant):
    first = (FIXTURES / "mt940_reversal.sta").read_text()
    broken = (FIXTURES / "mt940_bad_61_entry2.sta").read_text()

    response = upload(finance_api, (first + "-\n" + broken).encode(), "two.sta")

    assert response.status_code == 400
    assert response.json()["error"]["position"] == 5  # entries count across statements
    assert stored(tenant) == (0, 0, 0)


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({}, "missing_field", "file"),
        ({"file": b"", "note": "x"}, "unknown_field", "note"),
    ],
)
def test_missing_file_and_unknown_fields(finance_api, data, code, field):
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = {k: SimpleUploadedFile("a.xml", v) if k == "file" else v for k, v in data.items()}
    response = finance_api.post("/api/v1/statements", payload, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_an_empty_file_is_refused(finance_api):
    response = upload(finance_api, b"", "empty.xml")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_file"


def test_the_same_file_twice_answers_the_first_import_and_adds_nothing(finance_api, tenant):
    """200 with the first import's id, not 409: uploading the same bytes again is what a
    retry after a timeout looks like, and the agency should learn it is already in."""
    first = upload(finance_api, FIXTURES / "camt053_v08_normal_day.xml")
    second = upload(finance_api, FIXTURES / "camt053_v08_normal_day.xml", name="renamed.xml")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["file_name"] == "camt053_v08_normal_day.xml"
    assert stored(tenant) == (1, 1, 3)


def test_the_same_statement_in_another_file_is_a_conflict(finance_api, tenant):
    """409: a different file claiming the same account, statement id and sequence is
    either a re-export or a correction, and only a person can tell which is right."""
    original = (FIXTURES / "camt053_v08_normal_day.xml").read_bytes()
    first = upload(finance_api, original)
    reformatted = original.replace(b"<c:Stmt>", b"<c:Stmt>\n  ")
    assert reformatted != original

    response = upload(finance_api, reformatted)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "statement_already_imported"
    assert error["field"] == "file"
    assert first.json()["id"] in error["message"]
    assert stored(tenant) == (1, 1, 3)


def test_another_agency_may_import_the_same_file(finance_api, other_tenant):
    other = client_for(other_tenant, ["reports:read", "payments:write"])
    assert upload(finance_api, FIXTURES / "mt940_normal_day.sta").status_code == 201
    assert upload(other, FIXTURES / "mt940_normal_day.sta").status_code == 201


def test_an_idempotency_key_replays_the_upload(finance_api, tenant):
    content = (FIXTURES / "mt940_reversal.sta").read_bytes()
    first = upload(finance_api, content, "a.sta", HTTP_IDEMPOTENCY_KEY="upload-1")
    replay = upload(finance_api, content, "a.sta", HTTP_IDEMPOTENCY_KEY="upload-1")
    other = upload(finance_api, b"different", "a.sta", HTTP_IDEMPOTENCY_KEY="upload-1")

    assert first.status_code == 201
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert stored(tenant) == (1, 1, 3)


def test_uploading_needs_payments_write_and_reading_reports_read(tenant):
    reader = client_for(tenant, ["reports:read"])
    writer_only = client_for(tenant, ["payments:read"])

    assert upload(reader, FIXTURES / "mt940_normal_day.sta").status_code == 403
    assert reader.get("/api/v1/statements").status_code == 200
    assert writer_only.get("/api/v1/statements").status_code == 403


def test_a_large_upload_streams_from_a_temporary_file(tenant, tmp_path, monkeypatch):
    """Django writes uploads over 2 MB to disk; the importer reads that file as a stream
    (never the whole body in memory) and stores every entry."""
    path = tmp_path / "big.xml"
    subprocess.run([sys.executable, str(MAKE_CAMT053), "4000", str(path)], check=True)
    assert path.stat().st_size > 2 * 1024 * 1024
    seen = []
    real = imports.import_statement_file

    def spy(**kwargs):
        seen.append(type(kwargs["file"]).__name__)
        return real(**kwargs)

    monkeypatch.setattr("reconciliation.services.import_statement_file", spy)
    client = client_for(tenant, ["payments:write"])

    with path.open("rb") as handle:
        response = client.post("/api/v1/statements", {"file": handle}, format="multipart")

    assert response.status_code == 201, response.content
    assert response.json()["line_count"] == 4000
    assert seen == ["_TemporaryFileWrapper"]  # the temporary file, not bytes in memory


def test_lines_can_be_filtered_by_whether_they_are_matched(finance_api, tenant, service, today):
    from tests.reconciliation.conftest import card_payment, reconcile

    payment = card_payment(tenant, service, 1500)
    upload(finance_api, camt053([Entry(1500, remittance=payment.pk), Entry(99)], booked=today))
    reconcile(tenant, today)

    matched = finance_api.get("/api/v1/statement-lines", {"matched": "true"}).json()["results"]
    unmatched = finance_api.get("/api/v1/statement-lines", {"matched": "false"}).json()["results"]
    assert [line["amount"] for line in matched] == [1500]
    assert matched[0]["match"].startswith("mat_")
    assert [line["amount"] for line in unmatched] == [99]
    assert unmatched[0]["match"] is None


@pytest.mark.postgres
def test_refreshing_statistics_runs_inside_the_import_transaction(tenant):
    """ANALYZE (unlike VACUUM) may run in a transaction block: a large import and its
    statistics commit or roll back together, and the transaction stays usable."""
    from django.db import transaction

    from hub import bulk

    with transaction.atomic(), tenant_scope(tenant):
        bulk.refresh_statistics(StatementLine, rows_written=bulk.STATISTICS_THRESHOLD)
        assert StatementLine.objects.count() == 0


def test_a_statement_with_a_doctype_is_refused_whole(finance_api, tenant, today):
    document = camt053([Entry(1250)], booked=today).replace(
        b"<Document",
        b'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Document',
        1,
    )
    response = upload(finance_api, document)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_statement", "file")
    assert "DOCTYPE" in error["message"]
    assert stored(tenant) == (0, 0, 0)
