"""The subject-access export (GDPR art. 15): everything the hub holds on a person, JSON
and a readable page, itself audited in every agency whose records it discloses."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from hub.models import AuditEntry
from registration import services
from registration.models import Constituent
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import Collections
from tests.conftest import client_for
from tests.payments.conftest import new_payment
from tests.registration.conftest import grant
from tests.support.identifiers import random_bsn

pytestmark = pytest.mark.django_db

SECTIONS = [
    "identifiers",
    "registrations",
    "versions",
    "life_events",
    "access_log",
    "notifications",
    "payments",
    "debts",
    "mandates",
]


@pytest.fixture
def person(make_tenant):
    """A person two agencies hold: corrected, moved, read, paid, owing, with a mandate."""
    bsn = random_bsn()
    tax = Collections(make_tenant(name="Tax Office"))
    council = make_tenant(name="City Council")
    person = tax.constituent(bsn)
    council_api = client_for(council)
    grant(council)
    council_api.post(
        "/api/v1/constituents",
        {
            "kind": "person",
            "identifier": {"scheme": "nl_bsn", "value": bsn},
            "name": "Jan Jansen",
            "registration": {"purpose": "housing benefit", "legal_basis": "public_task"},
        },
    )
    corrected = council_api.patch(f"/api/v1/constituents/{person.pk}", {"email": "jan@example.org"})
    assert corrected.status_code == 200, corrected.json()
    council_api.get(f"/api/v1/constituents/{person.pk}")
    with tenant_scope(tax.tenant):
        services.record_life_event(
            tenant=tax.tenant,
            actor="test",
            constituent=person,
            kind="address_change",
            occurred_on=dt.date(2024, 5, 1),
            details={
                "address": {
                    "line1": "Damrak 2",
                    "postcode": "1012 LG",
                    "city": "Amsterdam",
                    "country": "NL",
                }
            },
        )
    tax.debt(constituent=person, amount=12_50)
    mandate = tax.mandate(person)
    new_payment(tax.tenant, tax.service, constituent=person.pk, amount=85_50)
    return {"constituent": person, "bsn": bsn, "tax": tax.tenant, "council": council, "m": mandate}


def test_the_export_holds_every_section_and_is_audited_in_each_agency(person):
    exported = services.export_subject_access(
        constituent=person["constituent"],
        actor_kind=AuditEntry.ActorKind.STAFF_USER,
        actor_id="1",
        actor_label="staff operator",
        channel="test",
    )
    document = json.loads(exported.json_bytes)
    by_key = {section["key"]: section["rows"] for section in document["sections"]}
    assert list(by_key) == SECTIONS
    assert document["subject"]["email"] == "jan@example.org"
    assert by_key["identifiers"] == [
        {
            "scheme": "nl_bsn",
            "value": person["bsn"],
            "recorded_at": by_key["identifiers"][0]["recorded_at"],
        }
    ]  # in full: the person's own number, theirs to have
    assert {r["purpose"] for r in by_key["registrations"]} == {"tax collection", "housing benefit"}
    assert [v["reason"] for v in by_key["versions"]] == [
        "registered",
        "correction",
        "life_event:address_change",
    ]
    assert by_key["life_events"][0]["details"]["address"]["line1"] == "Damrak 2"
    assert {(r["agency_name"], r["action"]) for r in by_key["access_log"]} == {
        ("City Council", "register"),
        ("City Council", "correct"),
        ("City Council", "retrieve"),
    }
    assert {r["event"] for r in by_key["notifications"]} >= {
        "constituent.registered",
        "constituent.updated",
        "constituent.life_event",
    }
    assert [(p["amount"], p["amount_formatted"]) for p in by_key["payments"]] == [(8550, "€85,50")]
    assert [d["balance_formatted"] for d in by_key["debts"]] == ["€12,50"]
    assert by_key["mandates"][0]["account"] == person["m"].iban

    # The readable page says the same in words, formatted for a person.
    assert "What the hub holds on Jan Jansen" in exported.html
    assert "€85,50" in exported.html and "Damrak 2" in exported.html

    with all_tenants():
        entries = AuditEntry.objects.filter(action="subject access export")
        assert {e.tenant_id for e in entries} == {person["tax"].pk, person["council"].pk}
        for entry in entries:
            assert entry.object_id == person["constituent"].pk
            assert entry.changes["sha256"] == exported.sha256
            assert entry.changes["rows"]["payments"] == 1
            # The audit records that an export happened, never what was in it.
            assert person["bsn"] not in json.dumps(entry.changes) + entry.summary
            assert "jan@example.org" not in json.dumps(entry.changes) + entry.summary


def test_the_management_command_finds_the_person_by_identifier_and_audits(person, tmp_path):
    target = tmp_path / "export.json"
    call_command("export_subject_access", identifier=f"nl_bsn:{person['bsn']}", output=str(target))
    document = json.loads(target.read_bytes())
    assert document["subject"]["id"] == person["constituent"].pk
    html = tmp_path / "export.html"
    call_command(
        "export_subject_access",
        constituent=person["constituent"].pk,
        format="html",
        output=str(html),
    )
    assert "Who looked at your record" in html.read_text()
    with all_tenants():
        channels = set(
            AuditEntry.objects.filter(action="subject access export").values_list(
                "summary", flat=True
            )
        )
    assert channels == {
        "Subject-access export (GDPR art. 15) through management command (json)",
        "Subject-access export (GDPR art. 15) through management command (html)",
    }
    with pytest.raises(CommandError, match="no record"):
        call_command("export_subject_access", identifier="nl_bsn:123456782")


def test_the_admin_export_is_for_hub_operators_only_and_audited(person, django_user_model):
    from tenants.models import StaffMembership

    con = person["constituent"].pk
    path = f"/admin/registration/constituent/{con}/subject-access/"
    operator = django_user_model.objects.create_superuser("operator", "op@example.org", "pw")
    browser = Client()
    browser.force_login(operator)
    page = browser.get(path)
    assert page.status_code == 200 and "Agencies registered with you" in page.content.decode()
    download = browser.get(path + "?format=json")
    assert download["Content-Disposition"] == f'attachment; filename="subject-access-{con}.json"'
    assert json.loads(download.content)["subject"]["id"] == con

    clerk = django_user_model.objects.create_user("clerk", "clerk@example.org", "pw", is_staff=True)
    with all_tenants():
        StaffMembership.objects.create(tenant=person["tax"], user=clerk, role="caseworker")
    agency_staff = Client()
    agency_staff.force_login(clerk)
    assert agency_staff.get(path).status_code == 403
    with all_tenants():
        exports = AuditEntry.objects.filter(action="subject access export", tenant=person["tax"])
        assert sorted(e.actor_label for e in exports) == ["staff operator", "staff operator"]
    assert Constituent.objects.filter(pk=con).exists()
