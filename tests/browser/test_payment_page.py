"""The sandbox payment journey in a real Chromium, from next_url to the agency's return_url."""

from __future__ import annotations

import pytest

from tests.payments.conftest import DECLINED_CARD, PROCESSING_ERROR_CARD, SUCCESS_CARD, page_path
from tests.support.browser_pages import fill_card, open_payment_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def state_of(api, payment) -> str:
    return api.get(f"/api/v1/payments/{payment['id']}").json()["state"]


def test_a_citizen_pays_and_lands_on_the_agency_return_url(
    page, live_server, api, create_payment, agency_site
):
    payment = create_payment()
    open_payment_page(page, live_server, payment)
    assert page.get_by_role("heading", level=1).inner_text() == "Enter card details"
    assert "€12.50" in page.locator(".summary").inner_text()
    fill_card(page, SUCCESS_CARD)
    with page.expect_navigation(url=f"{agency_site.url}/return?case=42"):
        page.get_by_role("button", name="Pay €12.50").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Back at the agency"
    assert state_of(api, payment) == "success"
    # The page's address holds the payer's token: it must not reach the agency's site.
    assert agency_site.requests[-1]["referer"] is None


@pytest.mark.parametrize(
    "number,state,heading",
    [
        (DECLINED_CARD, "failed", "Your payment was declined"),
        (PROCESSING_ERROR_CARD, "error", "Sorry, there is a problem with the payment"),
    ],
)
def test_declined_and_failing_cards_are_explained(
    page, live_server, api, create_payment, agency_site, number, state, heading
):
    payment = create_payment()
    open_payment_page(page, live_server, payment)
    fill_card(page, number)
    page.get_by_role("button", name="Pay €12.50").click()
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert state_of(api, payment) == state
    page.get_by_role("link", name="Go back to Tax Office").click()
    page.wait_for_url(f"{agency_site.url}/return?case=42")


@pytest.mark.parametrize(
    "fields,messages",
    [
        (
            {"number": "", "month": "", "year": "", "name": "", "code": ""},
            [
                "Enter the card number",
                "Enter the expiry month",
                "Enter the expiry year",
                "Enter the name as it appears on the card",
                "Enter the card security code",
            ],
        ),
        ({"number": SUCCESS_CARD, "month": "13"}, ["Enter a real expiry month"]),
        ({"number": "4111 1111 1111 1111"}, ["This is not a sandbox test card."]),
    ],
    ids=["empty form", "month 13", "unknown card"],
)
def test_mistakes_are_listed_in_an_error_summary(
    page, live_server, api, create_payment, fields, messages
):
    payment = create_payment()
    open_payment_page(page, live_server, payment)
    values = {"month": "04", "year": "30", "name": "A. Citizen", "code": "123", **fields}
    fill_card(page, values.pop("number"), **values)
    page.get_by_role("button", name="Pay €12.50").click()

    summary = page.get_by_role("alert")
    assert summary.get_by_role("heading").inner_text() == "There is a problem"
    links = summary.get_by_role("link").all_inner_texts()
    assert len(links) == len(messages)
    for link, message in zip(links, messages, strict=True):
        assert link.startswith(message)
    assert page.title().startswith("Error: ")
    # Each summary link takes the citizen to the field to correct.
    summary.get_by_role("link").first.click()
    focused = page.evaluate("document.activeElement.id")
    assert focused == summary.get_by_role("link").first.get_attribute("href").lstrip("#")
    assert "This field is required" not in page.content()
    assert state_of(api, payment) == "started"


@pytest.mark.parametrize(
    "number,heading",
    [
        (SUCCESS_CARD, "This payment has already been made"),
        (DECLINED_CARD, "This payment was declined"),
        (PROCESSING_ERROR_CARD, "This payment did not go through"),
    ],
)
def test_a_finished_link_opened_again_says_what_happened(
    page, live_server, create_payment, number, heading
):
    payment = create_payment()
    open_payment_page(page, live_server, payment)
    fill_card(page, number)
    page.get_by_role("button", name="Pay €12.50").click()
    page.wait_for_load_state()
    again = page.goto(live_server.url + page_path(payment["next_url"]))
    assert again.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == heading


def test_the_citizen_cancels_and_goes_back_to_the_agency(
    page, live_server, api, create_payment, agency_site
):
    payment = create_payment()
    open_payment_page(page, live_server, payment)
    with page.expect_navigation(url=f"{agency_site.url}/return?case=42"):
        page.get_by_role("button", name="Cancel payment and go back to Tax Office").click()
    assert state_of(api, payment) == "cancelled"
    page.goto(live_server.url + page_path(payment["next_url"]))
    assert page.get_by_role("heading", level=1).inner_text() == "This payment was cancelled"


def test_an_expired_link_says_it_expired(page, live_server, api, create_payment):
    from datetime import timedelta

    from django.utils import timezone

    from payments.models import Payment
    from tenants.scope import all_tenants

    payment = create_payment()
    with all_tenants():
        Payment.objects.filter(pk=payment["id"]).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    response = page.goto(live_server.url + page_path(payment["next_url"]))
    assert response.status == 410
    assert page.get_by_role("heading", level=1).inner_text() == "This payment link has expired"
    assert state_of(api, payment) == "expired"


def test_sterling_is_written_the_british_way_and_the_caption_is_above_the_table(
    page, live_server, create_payment
):
    payment = create_payment(currency="GBP", amount=123456)
    open_payment_page(page, live_server, payment)
    assert page.get_by_role("button", name="Pay £1,234.56").is_visible()
    caption = page.locator("caption").bounding_box()
    header = page.locator("table thead").bounding_box()
    assert caption["y"] + caption["height"] <= header["y"]
