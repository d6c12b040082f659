"""Tell us once, all the way: a notifier tells one agency, every registered agency is
told and answers, the late one is reminded, collections answers by itself, the notifier
follows it on the status page, proactive services are offered, and disagreeing reports
become discrepancies an operator resolves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from collection.models import Debt, PaymentPlan
from hub.events import endpoints
from hub.models import AuditEntry
from registration import services
from registration.models import (
    Constituent,
    LifeEvent,
    LifeEventDiscrepancy,
    LifeEventNotice,
    LifeEventOffer,
    LifeEventReport,
    LifeEventResponse,
)
from tenants import services as tenant_services
from tenants.scope import all_tenants, tenant_scope
from tests.collection.conftest import Collections, events_of
from tests.conftest import client_for
from tests.hub.test_webhooks import deliver_everything
from tests.registration.conftest import ADDRESS, person_body

pytestmark = pytest.mark.django_db

NOTIFIER = {"name": "Marie Jansen", "relationship": "spouse_or_partner", "contact": "06 1234 5678"}


def with_endpoint(tenant, receivers):
    receiver = receivers()
    receiver.secret = endpoints.create_endpoint(
        tenant=tenant, url=receiver.url, event_types=["constituent.*", "life_event.*"]
    ).secret
    return receiver


def report(client, con, **body):
    return client.post(f"/api/v1/constituents/{con}/life-events", body, format="json")


def deliver_all_rounds():
    """Subscribers publish events of their own (collections' answer): dispatch until done."""
    for _ in range(3):
        deliver_everything()


@pytest.fixture
def five_agencies(make_tenant, receivers, bsn):
    """The municipality (the notifier's front desk), pensions, vehicles, the tax office
    (with collections: a debt in a plan) and the passport office, each with a verifying
    webhook receiver, all registered with the same person."""
    names = ["Municipality", "Pensions", "Vehicles", "Tax Office", "Passports"]
    agencies = {}
    for name in names:
        tenant = make_tenant(name=name)
        agencies[name] = {
            "tenant": tenant,
            "api": client_for(tenant),
            "receiver": with_endpoint(tenant, receivers),
        }
    con = (
        agencies["Municipality"]["api"].post("/api/v1/constituents", person_body(bsn)).json()["id"]
    )
    for name in names[1:]:
        if name == "Tax Office":
            continue
        assert (
            agencies[name]["api"].post("/api/v1/constituents", person_body(bsn)).json()["id"] == con
        )
    collections = Collections(agencies["Tax Office"]["tenant"])
    person = collections.constituent(bsn)
    assert person.pk == con
    debt = collections.debt(constituent=person)
    plan = collections.plan(debt, collections.mandate(person))
    agencies["Tax Office"].update(debt=debt, plan=plan)
    deliver_all_rounds()  # the constituent.registered events
    for agency in agencies.values():
        agency["before"] = len(agency["receiver"].verified())
    return con, agencies


def new_webhooks(agency) -> list[dict]:
    return [r.json for r in agency["receiver"].verified()[agency["before"] :]]


def test_a_death_reported_once_with_a_notifier_all_the_way(five_agencies, client, admin_client):
    con, agencies = five_agencies
    desk = agencies["Municipality"]
    response = report(
        desk["api"],
        con,
        kind="death",
        occurred_on="2025-03-14",
        details={"place_of_death": "Utrecht"},
        notifier=NOTIFIER,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    tell_us_once = body["tell_us_once"]
    assert tell_us_once["reference"].startswith("TUO-")
    assert tell_us_once["status_page"].endswith("/tell-us-once/")
    life_event_id = body["id"]
    with all_tenants():
        stored = LifeEventReport.objects.get(reference=tell_us_once["reference"])
    # The secret is shown once and kept only as a hash; the notifier encrypted at rest.
    assert stored.secret_hash == services.hash_secret(tell_us_once["secret"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT notifier_name, notifier_contact FROM registration_lifeeventreport "
            "WHERE id = %s",
            [stored.pk],
        )
        raw_name, raw_contact = cursor.fetchone()
    assert "Marie" not in raw_name and "1234" not in raw_contact
    assert stored.notifier_name == "Marie Jansen"

    deliver_all_rounds()
    # Every agency told, each by a verified webhook with its answer-by date; the tax
    # office's collections stopped and answered for it.
    for name, agency in agencies.items():
        types = sorted(w["type"] for w in new_webhooks(agency))
        assert "constituent.life_event" in types and "constituent.deceased" in types, name
    tax = agencies["Tax Office"]
    with tenant_scope(tax["tenant"]):
        assert Debt.objects.get(pk=tax["debt"].pk).state == Debt.State.SUSPENDED
        assert PaymentPlan.objects.get(pk=tax["plan"].pk).state == PaymentPlan.State.CANCELLED
    recorded = [w for w in new_webhooks(tax) if w["type"] == "life_event.response_recorded"]
    assert [w["data"]["automatic"] for w in recorded] == [True]
    assert "1 debts suspended" in recorded[0]["data"]["text"]

    # Three agencies answer; the passport office does not.
    answers = {
        "Municipality": ("actioned", "Death registered, entry 2025/114"),
        "Pensions": ("actioned", "State pension stopped from 3 May"),
        "Vehicles": ("no_action_needed", "No driving licence held"),
    }
    for name, (outcome, text) in answers.items():
        answered = agencies[name]["api"].post(
            f"/api/v1/life-events/{life_event_id}/responses",
            {"outcome": outcome, "text": text},
            format="json",
        )
        assert answered.status_code == 201, answered.content
        assert answered.json()["outcome"] == outcome
    deliver_all_rounds()
    # The front desk hears every answer (it answers to the notifier); the others only
    # their own.
    desk_heard = {
        w["data"].get("agency")
        for w in new_webhooks(desk)
        if w["type"] == "life_event.response_recorded"
    }
    assert desk_heard == {None, "Pensions", "Vehicles", "Tax Office"}
    pensions_heard = [
        w for w in new_webhooks(agencies["Pensions"]) if w["type"] == "life_event.response_recorded"
    ]
    assert len(pensions_heard) == 1 and "agency" not in pensions_heard[0]["data"]

    # Ten working days later, nobody is overdue yet; a day after, the passport office is,
    # and only it is reminded, once.
    with all_tenants():
        due_on = LifeEventNotice.objects.get(
            life_event_id=life_event_id, tenant=agencies["Passports"]["tenant"]
        ).due_on
    assert services.remind_overdue(today=due_on) == 0
    assert services.remind_overdue(today=due_on + dt.timedelta(days=1)) == 1
    assert services.remind_overdue(today=due_on + dt.timedelta(days=2)) == 0
    deliver_all_rounds()
    for name, agency in agencies.items():
        overdue = [w for w in new_webhooks(agency) if w["type"] == "life_event.overdue"]
        if name == "Passports":
            assert len(overdue) == 1
            assert overdue[0]["data"]["life_event"] == life_event_id
            assert overdue[0]["data"]["answer_by"] == due_on.isoformat()
        else:
            assert overdue == [], name

    # The front desk's view lists every agency told and what each did.
    with all_tenants():
        LifeEventNotice.objects.filter(tenant=agencies["Passports"]["tenant"]).update(
            due_on=timezone.localdate() - dt.timedelta(days=1)
        )
    seen = desk["api"].get(f"/api/v1/life-events/{life_event_id}").json()
    told = {row["agency_name"]: row for row in seen["agencies_told"]}
    assert sorted(told) == sorted(agencies)
    assert told["Pensions"]["text"] == "State pension stopped from 3 May"
    assert told["Tax Office"]["automatic"] is True and told["Tax Office"]["outcome"] == "actioned"
    assert told["Passports"]["outcome"] is None and told["Passports"]["overdue"] is True
    assert seen["reported_by"] == [desk["tenant"].slug]
    # Another agency sees its own notice only, and no reporter.
    other = agencies["Vehicles"]["api"].get(f"/api/v1/life-events/{life_event_id}").json()
    assert [row["agency_name"] for row in other["agencies_told"]] == ["Vehicles"]
    assert other["reported_by"] == []

    # The operator's view: the passport office is the overdue one.
    overdue_view = admin_client.get("/admin/registration/lifeeventnotice/?answer=overdue")
    assert overdue_view.status_code == 200
    listed = overdue_view.context["cl"].result_list
    assert [notice.tenant.name for notice in listed] == ["Passports"]

    # The notifier's status page shows the same journey.
    page = client.post(
        "/tell-us-once/",
        {"reference": tell_us_once["reference"], "secret": tell_us_once["secret"]},
    )
    assert page.status_code == 200
    html = page.content.decode()
    for name in agencies:
        assert name in html
    assert "State pension stopped from 3 May" in html
    assert "Overdue" in html and "Collections stopped" in html
    assert page["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_conflicting_second_report_is_409_and_a_discrepancy_an_operator_resolves(
    api, other_api, bsn, admin_client
):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    other_api.post("/api/v1/constituents", person_body(bsn))
    first = report(api, con, kind="death", occurred_on="2025-03-14")
    assert first.status_code == 201

    conflicting = report(
        other_api, con, kind="death", occurred_on="2025-03-15", agency_reference="DVLA-9"
    )
    assert conflicting.status_code == 409
    error = conflicting.json()["error"]
    assert error["type"] == "conflict" and error["code"] == "conflicting_report"
    assert error["field"] == "occurred_on"
    assert error["details"][0]["code"] == "conflicting_fact"
    assert "2025-03-14" in error["details"][0]["message"]
    discrepancy = LifeEventDiscrepancy.objects.get(pk=error["discrepancy"])
    assert discrepancy.conflicts == [
        {"field": "occurred_on", "recorded": "2025-03-14", "reported": "2025-03-15"}
    ]
    # Nothing else changed: no second report, the record keeps the first date.
    assert str(Constituent.objects.get().deceased_on) == "2025-03-14"
    with all_tenants():
        assert LifeEventReport.objects.count() == 1
    # The same disagreeing report again is the same discrepancy.
    again = report(other_api, con, kind="death", occurred_on="2025-03-15")
    assert again.json()["error"]["discrepancy"] == discrepancy.pk
    assert LifeEventDiscrepancy.objects.count() == 1

    # The operator corrects the record to the second report, in the admin.
    changelist = "/admin/registration/lifeeventdiscrepancy/"
    assert "2025-03-14 → 2025-03-15" in admin_client.get(changelist).content.decode()
    resolved = admin_client.post(
        changelist, {"action": "accept_reported", "_selected_action": [discrepancy.pk]}
    )
    assert resolved.status_code == 302
    discrepancy.refresh_from_db()
    assert discrepancy.status == LifeEventDiscrepancy.Status.ACCEPTED_REPORTED
    assert discrepancy.resolved_by.startswith("staff:")
    assert str(Constituent.objects.get().deceased_on) == "2025-03-15"
    assert str(LifeEvent.objects.get().occurred_on) == "2025-03-15"
    with all_tenants():
        audit = AuditEntry.objects.get(action="resolve life-event discrepancy")
    assert audit.tenant == other_api.tenant and audit.object_id == discrepancy.pk
    assert audit.changes["before"]["occurred_on"] == "2025-03-14"
    corrected = [e for e in events_of("constituent.life_event") if e.payload.get("corrected")]
    assert {e.tenant_id for e in corrected} == {api.tenant.pk, other_api.tenant.pk}
    # Resolved once: a second decision is refused and changes nothing.
    admin_client.post(changelist, {"action": "keep_recorded", "_selected_action": [discrepancy.pk]})
    discrepancy.refresh_from_db()
    assert discrepancy.status == LifeEventDiscrepancy.Status.ACCEPTED_REPORTED


def test_a_life_event_shows_an_agency_its_own_report_only(make_tenant, bsn):
    """The privacy rule: which agencies reported (or hold) a person is nobody's business."""
    first, second, bystander = (client_for(make_tenant()) for _ in range(3))
    con = first.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    for client in (second, bystander):
        client.post("/api/v1/constituents", person_body(bsn))
    event = report(first, con, kind="death", occurred_on="2025-03-14").json()
    assert report(second, con, kind="death", occurred_on="2025-03-14").status_code == 200
    for client in (first, second):
        seen = client.get(f"/api/v1/life-events/{event['id']}").json()
        assert seen["reported_by"] == [client.tenant.slug]
        listed = client.get(f"/api/v1/constituents/{con}/life-events").json()
        assert listed[0]["reported_by"] == [client.tenant.slug]
    assert bystander.get(f"/api/v1/life-events/{event['id']}").json()["reported_by"] == []
    # Nor do the webhooks name the reporter.
    for published in events_of("constituent.life_event", event["id"]):
        assert "reported_by" not in published.payload
        assert published.payload["reported_by_you"] == (published.tenant_id == first.tenant.pk)


def test_only_agencies_that_were_told_may_answer_and_answers_are_idempotent(
    api, other_api, make_tenant, bsn
):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    event = report(api, con, kind="death", occurred_on="2025-03-14").json()
    path = f"/api/v1/life-events/{event['id']}/responses"
    # Registered after the event: it can see it but was never told.
    other_api.post("/api/v1/constituents", person_body(bsn))
    late = other_api.post(path, {"outcome": "actioned"}, format="json")
    assert late.status_code == 403 and late.json()["error"]["code"] == "not_told"
    stranger = client_for(make_tenant())
    assert stranger.post(path, {"outcome": "actioned"}, format="json").status_code == 404
    bad = api.post(path, {"outcome": "done"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "outcome"
    too_long = api.post(path, {"outcome": "actioned", "text": "x" * 301}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "text"
    with all_tenants():
        assert LifeEventResponse.objects.count() == 0

    first = api.post(path, {"outcome": "actioned"}, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    replay = api.post(path, {"outcome": "actioned"}, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    changed = api.post(path, {"outcome": "not_ours"}, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    assert changed.status_code == 409
    with all_tenants():
        assert LifeEventResponse.objects.count() == 1
        assert LifeEventNotice.objects.get(tenant=api.tenant).answered_at is not None
    assert [r["id"] for r in api.get(path).json()] == [first.json()["id"]]


def test_who_may_report_and_the_notifiers_details_are_checked(api, bsn):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    own_death = report(
        api,
        con,
        kind="death",
        occurred_on="2025-03-14",
        notifier={**NOTIFIER, "relationship": "self"},
    )
    assert own_death.status_code == 422
    assert own_death.json()["error"]["code"] == "reporter_not_allowed"
    unknown = report(
        api,
        con,
        kind="death",
        occurred_on="2025-03-14",
        notifier={**NOTIFIER, "relationship": "cat"},
    )
    assert (
        unknown.status_code == 400 and unknown.json()["error"]["field"] == "notifier.relationship"
    )
    assert LifeEvent.objects.count() == 0


NEW_KINDS = [
    # kind, subject, facts, follow-up event, implied kinds
    (
        "birth",
        "person",
        {"place_of_birth": "Utrecht", "parent_name": "Anna de Vries"},
        "constituent.born",
        [],
    ),
    (
        "marriage",
        "person",
        {"partner_name": "Piet Pietersen", "new_name": "Jan Pietersen"},
        "constituent.partnership_formed",
        ["name_change"],
    ),
    (
        "civil_partnership",
        "person",
        {"partner_name": "Sam Bakker"},
        "constituent.partnership_formed",
        [],
    ),
    (
        "partnership_ended",
        "person",
        {"partner_name": "Piet Pietersen", "how": "divorce", "new_address": ADDRESS},
        "constituent.partnership_ended",
        ["address_change"],
    ),
    (
        "job_loss",
        "person",
        {"employer": "Fokker", "reason": "redundancy"},
        "constituent.employment_ended",
        [],
    ),
    (
        "business_started",
        "organisation",
        {
            "business_identifier": {"scheme": "nl_kvk", "value": "12345678"},
            "activity": "Bakery",
            "trading_address": ADDRESS,
        },
        "constituent.business_started",
        ["address_change"],
    ),
]


def organisation_body():
    return {
        "kind": "organisation",
        "identifier": {"scheme": "nl_kvk", "value": "12345678"},
        "name": "Bakkerij de Vries",
        "registration": {"purpose": "licensing", "legal_basis": "public_task"},
    }


@pytest.mark.parametrize("kind,subject,facts,follow_up,implied", NEW_KINDS)
def test_each_new_kind_validates_its_facts_and_implies_its_follow_ups(
    api, bsn, kind, subject, facts, follow_up, implied
):
    body = person_body(bsn) if subject == "person" else organisation_body()
    if kind == "birth":
        body.pop("date_of_birth")
    con = api.post("/api/v1/constituents", body).json()["id"]
    occurred_on = "2025-02-03"
    missing = {
        k: v for k, v in facts.items() if k not in ("new_name", "new_address", "trading_address")
    }
    required_name = next(iter(missing))
    refused = report(
        api, con, kind=kind, occurred_on=occurred_on, details={**missing, required_name: None}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == f"details.{required_name}"
    assert (
        report(api, con, kind=kind, occurred_on=occurred_on, details={**facts, "x": 1}).json()[
            "error"
        ]["code"]
        == "unknown_field"
    )
    assert LifeEvent.objects.count() == 0

    made = report(api, con, kind=kind, occurred_on=occurred_on, details=facts)
    assert made.status_code == 201, made.content
    life_event = LifeEvent.objects.get(pk=made.json()["id"])
    assert [e.kind for e in life_event.implied_events.all()] == implied
    assert len(events_of(follow_up, con)) == 1
    told = {e.subject_id for e in events_of("constituent.life_event")}
    assert told == {life_event.pk, *(e.pk for e in life_event.implied_events.all())}
    person = Constituent.objects.get(pk=con)
    if kind == "birth":
        assert person.date_of_birth == dt.date(2025, 2, 3)
    if "name_change" in implied:
        assert person.name == facts["new_name"]
    if "address_change" in implied:
        assert person.address == ADDRESS


def test_proactive_offers_appear_for_the_kinds_declared_and_only_for_them(
    api,
    make_tenant,
    receivers,
    bsn,
):
    # An agency that does not hold the person offers bereavement support at a death; one
    # that does offers child benefit at a birth only.
    support_agency = make_tenant(name="Social Support")
    support_api = client_for(support_agency)
    support_hooks = with_endpoint(support_agency, receivers)
    bereavement = tenant_services.create_service(
        tenant=support_agency,
        code="bereavement",
        name="Bereavement support",
        interaction_kind="proactive",
    )
    declared = support_api.post(
        "/api/v1/proactive-services",
        {
            "service": bereavement.pk,
            "life_event_kinds": ["death"],
            "eligibility_hint": "For the partner or children of someone who died",
            "link": "https://support.example.gov/bereavement",
        },
        format="json",
    )
    assert declared.status_code == 201, declared.content
    benefit = tenant_services.create_service(
        tenant=api.tenant, code="child-benefit", name="Child benefit", interaction_kind="proactive"
    )
    api.post(
        "/api/v1/proactive-services",
        {
            "service": benefit.pk,
            "life_event_kinds": ["birth"],
            "eligibility_hint": "For a parent of a child under 16",
            "link": "https://benefits.example.gov/child",
        },
        format="json",
    )
    regulatory = tenant_services.create_service(
        tenant=api.tenant, code="licence", name="Licence", interaction_kind="regulatory"
    )
    not_proactive = api.post(
        "/api/v1/proactive-services",
        {
            "service": regulatory.pk,
            "life_event_kinds": ["job_loss"],
            "eligibility_hint": "x",
            "link": "https://example.gov/",
        },
        format="json",
    )
    assert not_proactive.status_code == 400
    assert not_proactive.json()["error"]["code"] == "service_not_proactive"

    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    deliver_all_rounds()
    before = len(support_hooks.verified())
    moved = report(
        api, con, kind="address_change", occurred_on="2025-01-02", details={"address": ADDRESS}
    )
    assert api.get(f"/api/v1/life-events/{moved.json()['id']}/offers").json() == []

    death = report(api, con, kind="death", occurred_on="2025-03-14", notifier=NOTIFIER).json()
    offers = api.get(f"/api/v1/life-events/{death['id']}/offers").json()
    assert [(o["service"], o["agency_name"]) for o in offers] == [("bereavement", "Social Support")]
    assert offers[0]["link"] == "https://support.example.gov/bereavement"
    with all_tenants():
        assert LifeEventOffer.objects.count() == 1
    deliver_all_rounds()
    # The offering agency hears only that its service was offered: no person, no date.
    offered = support_hooks.verified()[before:]
    assert [w.json["type"] for w in offered] == ["constituent.service_offered"]
    assert set(offered[0].json["data"]) == {"offer", "service", "life_event_kind", "offered_at"}
    assert offered[0].json["data"]["offer"] == offers[0]["id"]
    assert con not in offered[0].body.decode() and "Jansen" not in offered[0].body.decode()

    # The notifier sees the offer on the status page too.
    from django.test import Client

    page = Client().post(
        "/tell-us-once/",
        {
            "reference": death["tell_us_once"]["reference"],
            "secret": death["tell_us_once"]["secret"],
        },
    )
    html = page.content.decode()
    assert "Bereavement support" in html and "https://support.example.gov/bereavement" in html
    assert "Child benefit" not in html


def test_the_reminders_run_daily_from_beat():
    from django.conf import settings

    from hub.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["registration-remind-overdue-life-events"]
    assert schedule["task"] == "registration.remind_overdue_life_event_answers"
    assert schedule["task"] in app.tasks


def test_the_status_page_opens_only_with_its_reference_and_secret(api, bsn, client):
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    reported = report(api, con, kind="death", occurred_on="2025-03-14", notifier=NOTIFIER)
    tell_us_once = reported.json()["tell_us_once"]
    # Shown once: the same report again (another call) carries no secret.
    again = report(api, con, kind="death", occurred_on="2025-03-14", notifier=NOTIFIER)
    assert again.status_code == 200 and again.json()["tell_us_once"] is None
    for reference, secret in [
        (tell_us_once["reference"], "wrong"),
        ("TUO-0000-0000", tell_us_once["secret"]),
    ]:
        page = client.post("/tell-us-once/", {"reference": reference, "secret": secret})
        assert page.status_code == 200
        assert "do not match" in page.content.decode()
        assert "Death of" not in page.content.decode()
    # The reference is found whatever its case and spacing as typed.
    page = client.post(
        "/tell-us-once/",
        {"reference": f" {tell_us_once['reference'].lower()} ", "secret": tell_us_once["secret"]},
    )
    assert "Death of Jan Jansen" in page.content.decode()
