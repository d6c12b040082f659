"""Payment links: the API (error shape, idempotency, pagination, scopes, isolation), the
rules a link keeps, and its public page over HTTP (the browser suite drives it too)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentLink
from payments.rules import payment_links as rules
from tenants.scope import all_tenants, tenant_scope
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def link_body(service, **overrides):
    return {
        "title": "Parking fine",
        "description": "Pay a parking fine you received by post",
        "service": service.pk,
        "amount": 6000,
        "reference_label": "Fine number",
        "reference_hint": "It is at the top of the letter, for example PF-123456",
        "reference_pattern": r"PF-\d{6}",
        "languages": ["en", "cy"],
        **overrides,
    }


def error(response):
    return response.json()["error"]


def make_link(tenant, service, **overrides) -> PaymentLink:
    fields = {
        "title": "Parking fine",
        "reference_label": "Fine number",
        "reference_pattern": r"PF-\d{6}",
        "amount": 6000,
        **overrides,
    }
    with tenant_scope(tenant):
        return services.create_payment_link(tenant=tenant, service=service, **fields)


# -- the API -----------------------------------------------------------------------------


def test_an_agency_creates_a_fixed_amount_link(api, service, settings):
    response = api.post("/api/v1/payment-links", link_body(service), format="json")
    assert response.status_code == 201, response.content
    link = response.json()
    assert link["id"].startswith("plk_")
    assert link["state"] == "active" and link["active"] is True
    assert link["currency"] == "EUR"  # the agency's currency
    assert link["url"] == f"{settings.HUB_PUBLIC_URL}/pay/link/{link['slug']}/"
    assert re.fullmatch(r"[0-9a-f]{16}", link["slug"])  # unguessable when not chosen
    assert api.get(f"/api/v1/payment-links/{link['id']}").json()["title"] == "Parking fine"


def test_an_agency_creates_a_link_where_the_citizen_enters_the_amount(api, service):
    body = link_body(service, amount=None, min_amount=500, max_amount=20000, slug="donations")
    response = api.post("/api/v1/payment-links", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "donations"
    assert (response.json()["min_amount"], response.json()["max_amount"]) == (500, 20000)


@pytest.mark.parametrize(
    "overrides,field,code",
    [
        ({"reference_pattern": r"(a)\1"}, "reference_pattern", "invalid_pattern"),
        ({"reference_pattern": r"(?=PF)PF-\d+"}, "reference_pattern", "invalid_pattern"),
        ({"reference_pattern": "(" * 10}, "reference_pattern", "invalid_pattern"),
        ({"reference_pattern": "a" * 201}, "reference_pattern", "max_length"),
        ({"amount": 6000, "min_amount": 100, "max_amount": 200}, "amount", "amount_and_range"),
        ({"amount": None}, "amount", "amount_required"),
        ({"amount": None, "min_amount": 100}, "max_amount", "amount_required"),
        ({"amount": None, "min_amount": 900, "max_amount": 100}, "max_amount", "invalid_range"),
        ({"amount": 0}, "amount", "min_value"),
        ({"amount": 12.5}, "amount", "not_integer"),
        ({"languages": ["en", "fr"]}, "languages.1", "invalid_choice"),
        ({"languages": ["en", "en"]}, "languages", "duplicate_language"),
        ({"translations": {"nl": {"title": "Parkeerboete"}}}, "translations", "unknown_language"),
        ({"slug": "Not A Slug"}, "slug", "invalid_value"),
        ({"title": " "}, "title", "blank"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_links_are_refused_in_the_error_shape_and_nothing_is_created(
    api, service, overrides, field, code
):
    response = api.post("/api/v1/payment-links", link_body(service, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert error(response)["type"] == "invalid_request"
    assert (error(response)["field"], error(response)["code"]) == (field, code)
    assert error(response)["message"]
    with all_tenants():
        assert not PaymentLink.objects.exists()


def test_a_taken_slug_is_a_conflict(api, service):
    assert api.post("/api/v1/payment-links", link_body(service, slug="fines")).status_code == 201
    again = api.post("/api/v1/payment-links", link_body(service, slug="fines"), format="json")
    assert again.status_code == 409
    assert (error(again)["code"], error(again)["field"]) == ("slug_taken", "slug")


def test_create_is_idempotent(api, service):
    first = api.post(
        "/api/v1/payment-links", link_body(service), format="json", HTTP_IDEMPOTENCY_KEY="l-1"
    )
    second = api.post(
        "/api/v1/payment-links", link_body(service), format="json", HTTP_IDEMPOTENCY_KEY="l-1"
    )
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    other = api.post(
        "/api/v1/payment-links",
        link_body(service, title="Another"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="l-1",
    )
    assert other.status_code == 409
    with all_tenants():
        assert PaymentLink.objects.count() == 1


def test_links_are_listed_with_cursor_pagination_and_filters(api, tenant, service):
    for number in range(3):
        make_link(tenant, service, title=f"Link {number}")
    disabled = make_link(tenant, service, title="Old link")
    with tenant_scope(tenant):
        services.disable_payment_link(link=disabled)
    first = api.get("/api/v1/payment-links?limit=2").json()
    assert len(first["results"]) == 2 and first["next"]
    rest = api.get(first["next"]).json()
    titles = [link["title"] for link in first["results"] + rest["results"]]
    assert sorted(titles) == ["Link 0", "Link 1", "Link 2", "Old link"]
    only_disabled = api.get("/api/v1/payment-links?active=false").json()["results"]
    assert [(link["title"], link["state"]) for link in only_disabled] == [("Old link", "disabled")]


def test_an_agency_changes_and_disables_a_link(api, tenant, service):
    link = make_link(tenant, service)
    changed = api.patch(
        f"/api/v1/payment-links/{link.pk}", {"title": "Parking fine 2027"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["title"] == "Parking fine 2027"
    assert changed.json()["amount"] == 6000  # what was not sent stays
    refused = api.patch(
        f"/api/v1/payment-links/{link.pk}", {"min_amount": 100}, format="json"
    )  # a fixed amount with a minimum: the merged link must still keep the rules
    assert refused.status_code == 400 and error(refused)["code"] == "amount_and_range"
    disabled = api.post(f"/api/v1/payment-links/{link.pk}/disable")
    assert disabled.status_code == 200 and disabled.json()["state"] == "disabled"
    enabled = api.patch(f"/api/v1/payment-links/{link.pk}", {"active": True}, format="json")
    assert enabled.json()["state"] == "active"


def test_another_agencys_link_is_not_found(api, other_tenant, other_service):
    theirs = make_link(other_tenant, other_service)
    assert api.get(f"/api/v1/payment-links/{theirs.pk}").status_code == 404
    assert api.patch(f"/api/v1/payment-links/{theirs.pk}", {"title": "x"}).status_code == 404
    assert api.post(f"/api/v1/payment-links/{theirs.pk}/disable").status_code == 404
    assert api.get("/api/v1/payment-links").json()["results"] == []


def test_another_agencys_service_cannot_be_used(api, other_service):
    response = api.post("/api/v1/payment-links", link_body(other_service), format="json")
    assert response.status_code == 400 and error(response)["field"] == "service"


def test_a_read_key_reads_but_cannot_create(tenant, service):
    reader = client_for(tenant, scopes=["payments:read"])
    assert reader.get("/api/v1/payment-links").status_code == 200
    refused = reader.post("/api/v1/payment-links", link_body(service), format="json")
    assert refused.status_code == 403 and error(refused)["type"] == "permission_error"


# -- the rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern,reference,accepted",
    [
        (r"PF-\d{6}", "PF-123456", True),
        (r"PF-\d{6}", "PF-1234567", False),  # anchored at the end
        (r"PF-\d{6}", "xPF-123456", False),  # and at the start
        (r"\d{3}|X", "123X", False),  # an alternation is anchored as a whole
        ("", "anything at all", True),
        ("", "x" * 101, False),  # the bounded length, with or without a pattern
    ],
)
def test_the_whole_reference_must_match(pattern, reference, accepted):
    assert rules.reference_matches(pattern, reference) is accepted


def test_a_pattern_that_backtracks_catastrophically_in_python_is_linear_in_re2():
    # Python's re takes about 2**98 steps for this; RE2 answers at once.
    assert rules.reference_matches(r"(a+)+", "a" * 98 + "b") is False
    assert rules.reference_matches(r"(a+)+", "a" * 98) is True


@pytest.mark.parametrize(
    "text,minor",
    [
        ("12,50", 1250),
        ("12.50", 1250),
        ("€ 12,5", 1250),
        ("£12", 1200),
        ("1.234,50", 123450),
        ("1,234.50", 123450),
        ("1,234", 123400),
        (" 7 ", 700),
    ],
)
def test_amounts_as_citizens_type_them(text, minor):
    assert rules.parse_amount(text, 2) == minor


@pytest.mark.parametrize("text", ["", "twelve", "12,5,0", "1.2345", "-5", "12..5", "1e3", "9" * 25])
def test_amounts_that_are_not_amounts(text):
    with pytest.raises(rules.AmountNotUnderstood):
        rules.parse_amount(text, 2)


def test_a_payment_from_a_link_records_the_link(tenant, service):
    link = make_link(tenant, service, amount=None, min_amount=500, max_amount=20000)
    with tenant_scope(tenant):
        with pytest.raises(services.AmountRefused) as too_small:
            services.pay_by_link(link=link, reference="PF-123456", amount=499)
        with pytest.raises(services.AmountRefused) as too_large:
            services.pay_by_link(link=link, reference="PF-123456", amount=20001)
        with pytest.raises(services.ReferenceRefused):
            services.pay_by_link(link=link, reference="PF-12", amount=1000)
        assert not Payment.objects.exists()
        payment = services.pay_by_link(
            link=link, reference=" PF-123456 ", amount=2500, language="cy"
        )
    assert (too_small.value.code, too_large.value.code) == ("amount_too_small", "amount_too_large")
    assert payment.payment_link_id == link.pk
    assert (payment.amount, payment.reference, payment.description) == (
        2500,
        "PF-123456",
        "Parking fine",
    )
    assert payment.language == "cy" and payment.next_url


def test_a_disabled_or_expired_link_takes_no_payment(tenant, service):
    disabled = make_link(tenant, service)
    expired = make_link(tenant, service, expires_at=timezone.now() - dt.timedelta(minutes=1))
    with tenant_scope(tenant):
        services.disable_payment_link(link=disabled)
        disabled.refresh_from_db()
        for link, reason in ((disabled, "disabled"), (expired, "expired")):
            with pytest.raises(services.LinkUnavailable) as refused:
                services.pay_by_link(link=link, reference="PF-123456")
            assert refused.value.reason == reason
        assert not Payment.objects.exists()


# -- the public page over HTTP ---------------------------------------------------------------


def test_the_page_creates_the_payment_and_sends_the_citizen_to_the_payment_page(
    client, tenant, service
):
    link = make_link(tenant, service)
    page = client.get(f"/pay/link/{link.slug}/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert page.status_code == 200
    assert "Parking fine" in page.content.decode() and "€60.00" in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    done = client.post(f"/pay/link/{link.slug}/", {"reference": "PF-123456", "language": "en"})
    assert done.status_code == 303
    with all_tenants():
        payment = Payment.objects.get()
    assert done["Location"] == f"/pay/{payment.hosted_token}/"
    assert payment.payment_link_id == link.pk and payment.amount == 6000


def test_the_form_is_csrf_protected(tenant, service):
    link = make_link(tenant, service)
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post(f"/pay/link/{link.slug}/", {"reference": "PF-123456"})
    assert refused.status_code == 403
    with all_tenants():
        assert not Payment.objects.exists()


def test_a_wrong_reference_is_explained_and_creates_nothing(client, tenant, service):
    link = make_link(tenant, service)
    page = client.post(f"/pay/link/{link.slug}/", {"reference": "12345", "language": "en"})
    assert page.status_code == 400
    assert "Enter the reference exactly as it is written" in page.content.decode()
    with all_tenants():
        assert not Payment.objects.exists()


def test_disabled_and_expired_links_answer_410_and_say_which(client, tenant, service):
    disabled = make_link(tenant, service)
    with tenant_scope(tenant):
        services.disable_payment_link(link=disabled)
    expired = make_link(tenant, service, expires_at=timezone.make_aware(dt.datetime(2026, 5, 12)))
    gone = client.get(f"/pay/link/{disabled.slug}/")
    assert gone.status_code == 410 and "This payment link has been disabled" in gone.text
    posted = client.post(f"/pay/link/{disabled.slug}/", {"reference": "PF-123456"})
    assert posted.status_code == 410
    in_dutch = client.get(f"/pay/link/{expired.slug}/", HTTP_ACCEPT_LANGUAGE="nl")
    assert in_dutch.status_code == 410
    assert "Deze betaallink is verlopen" in in_dutch.text and "12 mei 2026" in in_dutch.text
    with all_tenants():
        assert not Payment.objects.exists()


def test_an_unknown_link_is_not_found(client):
    assert client.get("/pay/link/no-such-link/").status_code == 404


def test_submissions_are_rate_limited_per_client_address(client, tenant, service, settings):
    settings.HUB_PAYMENT_LINK_RATE_PER_CLIENT = "2/min"
    one, two = make_link(tenant, service), make_link(tenant, service)
    form = {"reference": "PF-123456", "language": "en"}
    assert client.post(f"/pay/link/{one.slug}/", form).status_code == 303
    assert client.post(f"/pay/link/{two.slug}/", form).status_code == 303
    refused = client.post(f"/pay/link/{two.slug}/", form)
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    other_client = client.post(f"/pay/link/{two.slug}/", form, REMOTE_ADDR="127.0.0.9")
    assert other_client.status_code == 303
    with all_tenants():
        assert Payment.objects.count() == 3


def test_submissions_are_rate_limited_per_link(client, tenant, service, settings):
    settings.HUB_PAYMENT_LINK_RATE_PER_LINK = "2/min"
    link, other = make_link(tenant, service), make_link(tenant, service)
    form = {"reference": "PF-123456", "language": "en"}
    for address in ("127.0.0.2", "127.0.0.3"):
        assert client.post(f"/pay/link/{link.slug}/", form, REMOTE_ADDR=address).status_code == 303
    assert client.post(f"/pay/link/{link.slug}/", form, REMOTE_ADDR="127.0.0.4").status_code == 429
    assert client.post(f"/pay/link/{other.slug}/", form, REMOTE_ADDR="127.0.0.4").status_code == 303


# -- the admin -------------------------------------------------------------------------------


def admin_form(tenant, service, **overrides):
    return {
        "tenant": tenant.pk,
        "service": service.pk,
        "slug": "",
        "title": "Dog licence",
        "description": "",
        "currency": "",
        "amount": "",
        "min_amount": "1000",
        "max_amount": "5000",
        "reference_label": "Licence number",
        "reference_hint": "",
        "reference_pattern": r"DL\d{4}",
        "languages": ["cy", "en"],
        "translations": '{"en": {"title": "Dog licence"}}',
        "active": "on",
        "expires_at_0": "",
        "expires_at_1": "",
        **overrides,
    }


def test_an_agency_admin_creates_and_disables_a_link_in_the_admin(client, tenant, service):
    from django.contrib.auth import get_user_model

    from tenants import services as tenant_services

    user = get_user_model().objects.create_user(username="admin-1", password="pw-123456789")
    tenant_services.grant_role(tenant=tenant, user=user, role="agency_admin")
    client.force_login(user)
    added = client.post("/admin/payments/paymentlink/add/", admin_form(tenant, service))
    assert added.status_code == 302, added.context["adminform"].form.errors
    with all_tenants():
        link = PaymentLink.objects.get()
    assert (link.currency, link.languages, link.min_amount) == ("EUR", ["cy", "en"], 1000)
    assert re.fullmatch(r"[0-9a-f]{16}", link.slug)
    listing = client.get("/admin/payments/paymentlink/").content.decode()
    assert "€10,00 to €50,00 (citizen enters)" in listing
    disabled = client.post(
        "/admin/payments/paymentlink/",
        {"action": "disable_links", "_selected_action": [link.pk]},
    )
    assert disabled.status_code == 302
    link.refresh_from_db()
    assert link.active is False


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"reference_pattern": r"(x)\1"}, "not a valid RE2 expression"),
        ({"amount": "500"}, "A fixed amount takes no minimum or maximum"),
        ({"translations": '{"nl": {"title": "Hondenbelasting"}}'}, "not one of the link"),
    ],
)
def test_the_admin_refuses_what_the_api_refuses(
    operator_client, tenant, service, overrides, message
):
    refused = operator_client.post(
        "/admin/payments/paymentlink/add/", admin_form(tenant, service, **overrides)
    )
    assert refused.status_code == 200
    assert message in refused.content.decode()
    with all_tenants():
        assert not PaymentLink.objects.exists()


@pytest.fixture
def operator_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("op", "op@example.org", "pw-123456789")
    client.force_login(user)
    return client
