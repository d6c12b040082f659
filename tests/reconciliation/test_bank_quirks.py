"""What real banks do that the standards do not say, one behaviour per test.

Each case here was found in the real-file corpus (test_real_files.py): the MT940 and
camt.053 files below are cut down to the one thing they show.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reconciliation.engine import references
from reconciliation.models import BankStatement, StatementImport, StatementLine
from reconciliation.statements import (
    iter_statements,
    parse_mt940,
    parse_statement,
    real_reference,
)
from tenants import services as tenants
from tenants.scope import tenant_scope
from tests.reconciliation.camt import Entry, camt053
from tests.reconciliation.conftest import upload

pytestmark = pytest.mark.django_db
REAL = Path(__file__).parent / "real_files"


def mt940(*lines: str, newline: str = "\r\n") -> bytes:
    return newline.join(lines).encode() + newline.encode()


def sparkasse_day(day: str, opening: str, amount: str, closing: str) -> bytes:
    """One day's statement as a Sparkasse writes it: the same :20: and :28C: every day."""
    return mt940(
        ":20:STARTUMSE",
        ":25:87052000/123456789",
        ":28C:00000/001",
        f":60F:C{day}EUR{opening}",
        f":61:{day}{day[2:]}CR{amount}N062NONREF",
        ":86:166?00GUTSCHRIFT?20EREF+NOTPROVIDED?21SVWZ+Miete",
        f":62F:C{day}EUR{closing}",
        "-",
    )


def stored(tenant) -> tuple[int, int, int]:
    with tenant_scope(tenant):
        return (
            StatementImport.objects.count(),
            BankStatement.objects.count(),
            StatementLine.objects.count(),
        )


# --- statement identity ---------------------------------------------------------------


def test_german_daily_statements_with_the_same_20_and_28c_are_different_days(finance_api, tenant):
    monday = sparkasse_day("240304", "100,00", "10,00", "110,00")
    tuesday = sparkasse_day("240305", "110,00", "5,00", "115,00")

    assert upload(finance_api, monday, "mon.sta").status_code == 201
    response = upload(finance_api, tuesday, "tue.sta")

    assert response.status_code == 201, response.json()
    assert stored(tenant) == (2, 2, 2)
    with tenant_scope(tenant):
        days = sorted(BankStatement.objects.values_list("statement_id", "closing_date"))
    assert days == [("STARTUMSE", date(2024, 3, 4)), ("STARTUMSE", date(2024, 3, 5))]


def test_both_days_in_one_file_are_two_statements(finance_api, tenant):
    both = sparkasse_day("240304", "100,00", "10,00", "110,00") + sparkasse_day(
        "240305", "110,00", "5,00", "115,00"
    )

    response = upload(finance_api, both, "week.sta")

    assert response.status_code == 201, response.json()
    assert (response.json()["statement_count"], response.json()["line_count"]) == (2, 2)


def test_a_true_reimport_stays_idempotent(finance_api, tenant):
    monday = sparkasse_day("240304", "100,00", "10,00", "110,00")
    first = upload(finance_api, monday, "mon.sta").json()

    same_bytes = upload(finance_api, monday, "mon-again.sta")
    # The same statement in a file that differs (here only by its line ends): 409.
    other_file = upload(finance_api, monday.replace(b"\r\n", b"\n"), "mon-unix.sta")

    assert same_bytes.status_code == 200 and same_bytes.json()["id"] == first["id"]
    assert other_file.status_code == 409
    assert other_file.json()["error"]["code"] == "statement_already_imported"
    assert "2024-03-04" in other_file.json()["error"]["message"]
    assert stored(tenant) == (1, 1, 1)


def test_a_corrected_reissue_of_a_day_is_still_the_same_statement(finance_api, tenant):
    monday = sparkasse_day("240304", "100,00", "10,00", "110,00")
    corrected = sparkasse_day("240304", "100,00", "12,00", "112,00")  # other entry, balance
    assert upload(finance_api, monday, "mon.sta").status_code == 201

    response = upload(finance_api, corrected, "mon-corrected.sta")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "statement_already_imported"
    assert stored(tenant) == (1, 1, 1)


def test_a_second_statement_of_the_same_day_starts_where_the_first_ended(finance_api, tenant):
    morning = sparkasse_day("240304", "100,00", "10,00", "110,00")
    afternoon = sparkasse_day("240304", "110,00", "5,00", "115,00")
    assert upload(finance_api, morning, "am.sta").status_code == 201

    response = upload(finance_api, afternoon, "pm.sta")

    assert response.status_code == 201, response.json()
    assert stored(tenant) == (2, 2, 2)


# --- several statements, SWIFT wrappers, control characters ---------------------------


def test_abn_amro_header_blocks_between_statements():
    statements = [
        (s.account, s.sequence_number, s.opening_balance, s.closing_balance, list(s.entries))
        for s in iter_statements(REAL / "php-mt940" / "abnamro-sample.sta")
    ]

    assert [s[:2] for s in statements] == [
        ("500950253", "17501/1"),
        ("500950253", "17601/1"),
        ("500950253", "17701/1"),
        ("485082713", "17501/1"),  # a second account in the same file
    ]
    _, _, opening, closing, entries = statements[0]
    assert (opening, closing) == (1_736_999, 1_715_949)
    assert [e.signed_amount for e in entries] == [-750, -20_300]
    # The header block after "-" is not glued to the closing balance or to a :86:.
    assert "ABNANL2A" not in (entries[-1].details[0].remittance_text or "")


def test_swift_blocks_and_control_characters_around_each_message():
    message = (
        "\x01{1:F01POFICHBEAXXX0000000000}{2:I940XXXXXXXXXXXXN}{3:{108:X}}{4:\r\n"
        ":20:PF-1\r\n:25:CH5609000000123456789\r\n:28C:1/1\r\n:60F:C240304CHF10,00\r\n"
        ":61:2403040304C2,50NMSCNONREF//B1\r\n:86:GIRO\r\n:62F:C240304CHF12,50\r\n"
        "-}{5:{MAC:00000000}{CHK:000000000000}}\x03"
    )
    data = (message + message.replace("PF-1", "PF-2").replace("//B1", "//B2") + "\x1a").encode()

    seen = [
        (statement.statement_id, [e.entry_reference for e in statement.entries])
        for statement in iter_statements(io.BytesIO(data))
    ]

    assert seen == [("PF-1", ["B1"]), ("PF-2", ["B2"])]


def test_mbank_etx_after_the_final_dash():
    statement = parse_mt940(REAL / "wolph-mt940" / "mbank.sta")

    assert statement.account == "PL29114010810000267002001002"
    assert len(list(statement.entries)) == 3


# --- :61: as banks write it -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "amount", "type_code", "customer_reference", "bank_reference"),
    [
        ("121123D10,00NIT NONREF", -1000, "NIT", None, None),  # Triodos: padded type
        ("100722D25,03NOV NONREF", -2503, "NOV", None, None),  # ING
        ("2006080608D12,35 NRTIKREF+//2016021783252833", -1235, "NRTI", None, "2016021783252833"),
        ("2103310331C50,00 NTRFNONREF//2109025460313532", 5000, "NTRF", None, "2109025460313532"),
        ("2011301130CN220000,00//19239782213", 22_000_000, None, None, "19239782213"),  # Zenith
        ("240304C7,50NONREF", 750, None, None, None),  # no type code before NONREF
        ("1710111011DF2402,00S   X", -240_200, "S", "X", None),  # Sberbank: "S" + blanks
        ("1407290729C500NTRF29-07-2014 10:05//B4G29", 50_000, "NTRF", "29-07-2014 10:05", "B4G29"),
    ],
)
def test_statement_line_variants(line, amount, type_code, customer_reference, bank_reference):
    data = mt940(
        ":20:T",
        ":25:DE89370400440532013000",
        ":28C:1/1",
        ":60F:C240101EUR0,00",
        f":61:{line}",
        f":62F:{'C' if amount >= 0 else 'D'}240101EUR{abs(amount) // 100},{abs(amount) % 100:02d}",
        "-",
    )

    (entry,) = parse_mt940(io.BytesIO(data)).entries

    assert entry.signed_amount == amount
    assert entry.bank_transaction_code == type_code
    assert entry.customer_reference == customer_reference
    assert entry.entry_reference == bank_reference


# --- one account whatever the format ----------------------------------------------------


@pytest.mark.parametrize(
    "written", ["NL34RABO0142623393 EUR", "NL34 RABO 0142 6233 93", "NL34RABO0142623393EUR"]
)
def test_mt940_iban_with_currency_is_the_camt053_account(finance_api, tenant, written):
    day = date(2024, 3, 4)
    camt = camt053([Entry(1000, booked=day)], booked=day, account="NL34RABO0142623393")
    sta = mt940(
        ":20:940S240305",
        f":25:{written}",
        ":28C:0",
        ":60F:C240305EUR10,00",
        ":61:240305C5,00N541NONREF",
        ":62F:C240305EUR15,00",
        "-",
    )

    assert upload(finance_api, camt, "day1.xml").status_code == 201
    assert upload(finance_api, sta, "day2.sta").status_code == 201

    with tenant_scope(tenant):
        accounts = set(BankStatement.objects.values_list("account", flat=True))
    assert accounts == {"NL34RABO0142623393"}


# --- placeholders -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["NONREF", "NOTPROVIDED", "notprovided", " NONREF ", "EREF+", "KREF+", "", None]
)
def test_placeholders_are_no_reference(value):
    assert real_reference(value) is None


@pytest.mark.parametrize("value", ["E2E-1", "NONREF-2024-1", "RF18539007547034", "KREF+X"])
def test_real_references_are_kept(value):
    assert real_reference(value) == value


def test_placeholders_never_become_matching_tokens():
    data = mt940(
        ":20:T",
        ":25:DE89370400440532013000",
        ":28C:1/1",
        ":60F:C240101EUR0,00",
        ":61:2401010101C5,00NTRFNONREF//NONREF",
        ":86:166?00GUTSCHRIFT?20EREF+NOTPROVIDED?21KREF+NONREF?22SVWZ+Miete",
        ":61:2401010101C5,00 NRTIKREF+",
        ":86:EREF+ KREF+",
        ":62F:C240101EUR10,00",
        "-",
    )

    entries = list(parse_mt940(io.BytesIO(data)).entries)

    for entry in entries:
        assert entry.references() == ()
        tokens = [token for _, token in references.entry_tokens(entry)]
        assert not {"NONREF", "NOTPROVIDED", "EREF+", "KREF+"} & set(tokens), tokens
        assert entry.customer_reference is None and entry.entry_reference is None
    assert entries[0].details[0].remittance_text == "Miete"


def test_camt053_notprovided_references_are_dropped():
    day = date(2024, 3, 4)
    document = camt053([Entry(1000, booked=day, end_to_end_id="NOTPROVIDED")], booked=day)

    (entry,) = parse_statement(io.BytesIO(document)).entries

    assert entry.details[0].end_to_end_id is None
    assert "NOTPROVIDED" not in [token for _, token in references.entry_tokens(entry)]


# --- accepted with a warning --------------------------------------------------------------


def test_camt053_without_opening_balance_is_accepted_with_a_warning(finance_api, tenant):
    day = date(2024, 3, 4)
    document = camt053(
        [Entry(2500, booked=day), Entry(-1000, booked=day)],
        booked=day,
        closing=11_500,
        with_opening=False,
    )

    response = upload(finance_api, document)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["warnings"]) == 1 and "has no opening balance" in body["warnings"][0]
    assert body["statements"][0]["opening_balance"] == 10_000  # 11_500 less the entries
    assert body["line_count"] == 2
    fetched = finance_api.get(f"/api/v1/statements/{body['id']}").json()
    assert fetched["warnings"] == body["warnings"]


def test_entries_after_the_closing_date_left_out_of_the_balance_are_a_warning(finance_api, tenant):
    day, next_day = date(2024, 3, 4), date(2024, 3, 5)
    document = camt053(
        [Entry(2500, booked=day), Entry(700, booked=next_day)],
        booked=day,
        opening=1000,
        closing=3500,  # the bank's balance of the 4th: without the entry of the 5th
    )

    response = upload(finance_api, document)

    assert response.status_code == 201, response.json()
    (warning,) = response.json()["warnings"]
    assert "1 booked entries dated after the closing balance of 2024-03-04" in warning
    assert stored(tenant) == (1, 1, 2)


def test_pending_entries_are_imported_with_a_warning(finance_api):
    day = date(2024, 3, 4)
    document = camt053([Entry(2500, booked=day), Entry(900, booked=day, status="PDNG")], booked=day)

    body = upload(finance_api, document).json()

    assert body["line_count"] == 2
    assert ["1 entries not yet booked" in w for w in body["warnings"]] == [True]


def test_a_balance_that_no_exclusion_explains_is_still_refused(finance_api, tenant):
    day, next_day = date(2024, 3, 4), date(2024, 3, 5)
    document = camt053(
        [Entry(2500, booked=day), Entry(700, booked=next_day)],
        booked=day,
        opening=1000,
        closing=9999,
    )

    response = upload(finance_api, document)

    assert response.status_code == 400
    assert "Statement 1 (" in response.json()["error"]["message"]
    assert "does not add up" in response.json()["error"]["message"]
    assert stored(tenant) == (0, 0, 0)


# --- every refusal names the place --------------------------------------------------------


def test_a_balance_without_cdtdbtind_is_named(finance_api, tenant):
    day = date(2024, 3, 4)
    document = camt053([Entry(1000, booked=day)], booked=day, statement_id="STMT-X")
    document = document.replace(b"<CdtDbtInd>CRDT</CdtDbtInd><Dt>", b"<Dt>", 2)

    response = upload(finance_api, document)

    assert response.status_code == 400
    assert (
        "balance 1 (opening) of statement 'STMT-X' has no CdtDbtInd"
        in (response.json()["error"]["message"])
    )
    assert stored(tenant) == (0, 0, 0)


def test_a_bad_entry_is_named_by_position_and_statement(finance_api, tenant):
    day = date(2024, 3, 4)
    document = camt053(
        [Entry(1000, booked=day), Entry(2000, booked=day)], booked=day, statement_id="STMT-Y"
    )
    document = document.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"", 1)
    second = document.index(b"<Ntry>", document.index(b"<Ntry>") + 1)
    document = document[:second] + document[second:].replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"", 1)

    response = upload(finance_api, document)

    error = response.json()["error"]
    assert response.status_code == 400 and error["position"] == 2
    assert error["message"].startswith("Entry 2: entry has no CdtDbtInd (in statement 'STMT-Y')")
    assert stored(tenant) == (0, 0, 0)


def test_the_admin_shows_the_warnings_of_an_upload(client, tenant):
    user = tenants.create_staff_user(
        username="fin", email="fin@example.org", password="pw-1234567890"
    )
    tenants.grant_role(tenant=tenant, user=user, role="finance")
    client.force_login(user)
    wise = (REAL / "camt_parser" / "wise-v10.xml").read_bytes()  # no opening balance

    uploaded = client.post(
        "/admin/reconciliation/statementimport/upload/",
        {"tenant": tenant.pk, "file": SimpleUploadedFile("wise.xml", wise)},
        follow=True,
    )

    shown = [str(message) for message in uploaded.context["messages"]]
    assert any("has no opening balance" in message for message in shown), shown
    listing = client.get("/admin/reconciliation/statementimport/")
    assert listing.status_code == 200
    assert b"column-warning_count" in listing.content
    assert b'<td class="field-warning_count">1</td>' in listing.content
