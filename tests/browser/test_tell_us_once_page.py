"""The notifier's tell-us-once status page in a real Chromium: the journey after a death,
a wrong secret, and the attempt budget that stops guessing; in Dutch and Welsh with no
English left but the agencies' own words."""

from __future__ import annotations

import pytest
from django.conf import settings

from tenants import services as tenant_services
from tests.browser.test_accessibility import serious_violations
from tests.conftest import client_for
from tests.registration.conftest import person_body
from tests.support.identifiers import random_bsn
from tests.support.untranslated import untranslated

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOTIFIER = {"name": "Marie Jansen", "relationship": "spouse_or_partner", "contact": "06 1234 5678"}


@pytest.fixture
def reported_death(api, make_tenant):
    """The tax office took the report from the widow; the pensions office answered, the
    vehicle agency has not yet; a support agency offers bereavement support."""
    pensions = client_for(make_tenant(name="Pensions Office"))
    vehicles = client_for(make_tenant(name="Vehicle Agency"))
    bsn = random_bsn()
    con = api.post("/api/v1/constituents", person_body(bsn)).json()["id"]
    for client in (pensions, vehicles):
        client.post("/api/v1/constituents", person_body(bsn))
    support = make_tenant(name="Social Support")
    service = tenant_services.create_service(
        tenant=support, code="bereavement", name="Bereavement support", interaction_kind="proactive"
    )
    declared = client_for(support).post(
        "/api/v1/proactive-services",
        {
            "service": service.pk,
            "life_event_kinds": ["death"],
            "eligibility_hint": "For the partner or children of someone who died",
            "link": "https://support.example.gov/bereavement",
        },
        format="json",
    )
    assert declared.status_code == 201
    response = api.post(
        f"/api/v1/constituents/{con}/life-events",
        {"kind": "death", "occurred_on": "2025-03-14", "notifier": NOTIFIER},
        format="json",
    )
    assert response.status_code == 201
    event = response.json()
    answered = pensions.post(
        f"/api/v1/life-events/{event['id']}/responses",
        {"outcome": "actioned", "text": "State pension stopped from 3 May"},
        format="json",
    )
    assert answered.status_code == 201
    return event["tell_us_once"]


def look_up(page, live_server, reference, secret):
    page.goto(f"{live_server.url}/tell-us-once/")
    page.get_by_label("Tell us once reference").fill(reference)
    page.get_by_label("Secret code").fill(secret)
    page.get_by_role("button", name="Show what happened").click()


def test_the_notifier_sees_who_was_told_what_they_did_and_the_offers(
    page, live_server, reported_death
):
    look_up(page, live_server, reported_death["reference"], reported_death["secret"])
    assert page.get_by_role("heading", level=1).inner_text() == "Death of Jan Jansen"
    # The secret never reaches the address bar (nor the history, nor a Referer).
    assert reported_death["secret"] not in page.url
    table = page.get_by_role("table")
    rows = {
        row.get_by_role("rowheader").inner_text(): row.inner_text()
        for row in table.get_by_role("row").all()[1:]
    }
    assert sorted(rows) == ["Pensions Office", "Tax Office", "Vehicle Agency"]
    assert "Done" in rows["Pensions Office"]
    assert "State pension stopped from 3 May" in rows["Pensions Office"]
    assert "Waiting for an answer" in rows["Vehicle Agency"]
    offer = page.get_by_role("link", name="Bereavement support")
    assert offer.get_attribute("href") == "https://support.example.gov/bereavement"
    assert (
        "For the partner or children"
        in page.get_by_role("list", name="Help you may be able to get").inner_text()
    )
    assert serious_violations(page) == []


def test_a_wrong_secret_is_refused_and_guessing_runs_out_of_attempts(
    page, live_server, reported_death
):
    look_up(page, live_server, reported_death["reference"], "not-the-secret")
    alert = page.get_by_role("alert")
    assert "do not match" in alert.inner_text()
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Check what happened after you told us"
    )
    assert serious_violations(page) == []
    for _ in range(settings.HUB_STATUS_PAGE_ATTEMPTS - 1):
        look_up(page, live_server, reported_death["reference"], "still-guessing")
        assert "do not match" in page.get_by_role("alert").inner_text()
    # Over budget: even the right secret waits, so trying cannot find it.
    with page.expect_response(
        lambda r: r.url.endswith("/tell-us-once/") and r.request.method == "POST"
    ) as answer:
        look_up(page, live_server, reported_death["reference"], reported_death["secret"])
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    assert page.get_by_role("heading", level=1).inner_text() == "Too many attempts"
    assert "Death of" not in page.content()


def look_up_by_id(page, live_server, reference, secret, query=""):
    # By id: the labels are in the page's language.
    page.goto(f"{live_server.url}/tell-us-once/{query}")
    page.fill("#id_reference", reference)
    page.fill("#id_secret", secret)
    page.locator("main form button[type=submit]").last.click()


def assert_all_in(page, language):
    assert page.locator("html").get_attribute("lang") == language
    assert untranslated(page.inner_text("body"), language) == []


def test_in_dutch_for_a_dutch_browser_with_no_english_left(page_in, live_server, reported_death):
    page = page_in("nl-NL")
    page.goto(f"{live_server.url}/tell-us-once/")
    assert_all_in(page, "nl")
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Bekijk wat er is gebeurd na uw melding"
    )
    # A wrong pair answers in Dutch too.
    look_up_by_id(page, live_server, reported_death["reference"], "not-the-secret")
    assert "horen niet bij elkaar" in page.get_by_role("alert").inner_text()
    assert_all_in(page, "nl")

    look_up_by_id(page, live_server, reported_death["reference"], reported_death["secret"])
    assert page.get_by_role("heading", level=1).inner_text() == "Overlijden van Jan Jansen"
    assert_all_in(page, "nl")
    body = page.inner_text("body")
    assert "14 maart 2025" in body
    rows = {
        row.get_by_role("rowheader").inner_text(): row.inner_text()
        for row in page.get_by_role("table").get_by_role("row").all()[1:]
    }
    assert "Afgehandeld" in rows["Pensions Office"]
    assert "State pension stopped from 3 May" in rows["Pensions Office"]  # as the agency wrote it
    assert "Wacht op antwoord" in rows["Vehicle Agency"]
    assert serious_violations(page) == []


def test_switching_to_welsh_on_the_result_keeps_the_secret_out_of_the_address(
    page, live_server, reported_death
):
    look_up(page, live_server, reported_death["reference"], reported_death["secret"])
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_response(
        lambda r: (
            r.url.startswith(f"{live_server.url}/tell-us-once/") and r.request.method == "POST"
        )
    ) as answer:
        page.get_by_role("button", name="Cymraeg").click()
    assert reported_death["secret"] not in page.url and reported_death["reference"] not in page.url
    assert reported_death["secret"] in (answer.value.request.post_data or "")
    assert page.get_by_role("heading", level=1).inner_text() == "Marwolaeth: Jan Jansen"
    assert_all_in(page, "cy")
    assert "14 Mawrth 2025" in page.inner_text("body")
    assert "Wedi'i wneud" in page.get_by_role("table").inner_text()
    assert serious_violations(page) == []


def test_the_lookup_page_in_welsh_by_the_switcher_and_the_budget_page_too(
    page, live_server, reported_death
):
    page.goto(f"{live_server.url}/tell-us-once/")
    page.get_by_role("link", name="Cymraeg").click()
    assert "lang=cy" in page.url
    assert_all_in(page, "cy")
    for _ in range(settings.HUB_STATUS_PAGE_ATTEMPTS + 1):
        page.fill("#id_reference", reported_death["reference"])
        page.fill("#id_secret", "still-guessing")
        page.get_by_role("button", name="Dangos beth ddigwyddodd").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Gormod o ymdrechion"
    assert_all_in(page, "cy")
