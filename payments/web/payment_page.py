"""The hosted payment page (``next_url``): plain HTML, usable without JavaScript.

Whoever holds the URL's token may pay; nobody else can find the page. For the sandbox
it is where the payer types a test card; for Stripe it is only where Stripe sends the
payer back when the agency gave no return_url. The form is CSRF-protected, and a
finished or expired payment is refused (410) rather than paid twice.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from django import forms
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hub.errors import Conflict
from hub.i18n import page_language
from hub.money import format_money
from payments import selectors, services
from payments.models import Payment, PaymentState
from payments.providers.sandbox import TEST_CARDS, normalise_card_number
from payments.rules import states
from payments.rules.states import PAYABLE
from payments.services import PaymentNotPayable, UnknownTestCard, pay_with_test_card
from tenants.scope import tenant_scope


def _payable(payment: Payment) -> bool:
    return states.is_payable(payment.state, payment.expires_at, timezone.now())


# The token is in the URL: never send it to another site in a Referer, never cache or
# index it. "same-origin" and not "no-referrer": with no-referrer the browser posts the
# card form with "Origin: null", and Django's CSRF check (rightly) refuses that, so no
# citizen could pay. A same-origin Referer only ever reaches the hub itself.
REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
)

# GOV.UK Design System wording: one message per field, saying what to do.
REQUIRED = {
    "card_number": _("Enter the card number"),
    "expiry_month": _("Enter the expiry month"),
    "expiry_year": _("Enter the expiry year"),
    "cardholder_name": _("Enter the name as it appears on the card"),
    "security_code": _("Enter the card security code"),
}


class CardForm(forms.Form):
    card_number = forms.CharField(
        label=_("Card number"),
        max_length=30,
        help_text=_("The long number on the front of the card"),
        error_messages={"max_length": _("Enter a card number of 12 to 19 digits")},
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    expiry_month = forms.IntegerField(
        label=_("Expiry month"),
        min_value=1,
        max_value=12,
        help_text=_("For example, 04"),
        error_messages={
            "invalid": _("Enter a real expiry month"),
            "min_value": _("Enter a real expiry month"),
            "max_value": _("Enter a real expiry month"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp-month", "inputmode": "numeric"}),
    )
    expiry_year = forms.IntegerField(
        label=_("Expiry year"),
        min_value=0,
        max_value=2100,
        help_text=_("For example, 29"),
        error_messages={
            "invalid": _("Enter a real expiry year"),
            "min_value": _("Enter a real expiry year"),
            "max_value": _("Enter a real expiry year"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp-year", "inputmode": "numeric"}),
    )
    cardholder_name = forms.CharField(
        label=_("Name on card"),
        max_length=100,
        error_messages={"max_length": _("Name on card must be 100 characters or fewer")},
        widget=forms.TextInput(attrs={"autocomplete": "cc-name", "spellcheck": "false"}),
    )
    security_code = forms.RegexField(
        label=_("Card security code"),
        regex=r"^\d{3,4}$",
        help_text=_("The last 3 digits on the back of the card"),
        error_messages={"invalid": _("Enter the 3 or 4 digit card security code")},
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, message in REQUIRED.items():
            self.fields[name].error_messages["required"] = message

    def clean_card_number(self) -> str:
        number = normalise_card_number(self.cleaned_data["card_number"])
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise forms.ValidationError(_("Enter a card number of 12 to 19 digits"))
        return number

    def clean(self):
        cleaned = super().clean()
        month, year = cleaned.get("expiry_month"), cleaned.get("expiry_year")
        if month is not None and year is not None:
            year = year + 2000 if year < 100 else year
            today = timezone.localdate()
            if date(year, month, 1) < today.replace(day=1):
                self.add_error("expiry_month", _("The card has expired: check the expiry date"))
        return cleaned


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def payment_language(request, payment: Payment) -> str:
    """The payment's own language, else the browser's, else the agency's default."""
    return page_language(request, chosen=payment.language, fallback=payment.tenant.default_language)


def citizen_page(request, template: str, context: dict, *, status: int = 200, language: str):
    """A citizen's page rendered in ``language``, marked private and unindexed."""
    with translation.override(language):
        response = render(request, f"payments/{template}", context, status=status)
    response["Content-Language"] = language
    # The same address answers in another language for another browser.
    patch_vary_headers(response, ["Accept-Language"])
    response["Referrer-Policy"] = REFERRER_POLICY
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _page(request, template: str, context: dict, status: int = 200):
    payment = context["payment"]
    response = citizen_page(
        request, template, context, status=status, language=payment_language(request, payment)
    )
    # Chromium applies form-action to the redirect that follows a form post as well:
    # the agency's return_url (and nothing else) must be allowed as that destination.
    form_targets = ["'self'"]
    if payment.return_url and (origin := _origin(payment.return_url)):
        form_targets.append(origin)
    response["Content-Security-Policy"] = (
        f"{CONTENT_SECURITY_POLICY}; form-action {' '.join(form_targets)}"
    )
    return response


def _context(request, payment: Payment, **extra) -> dict:
    language = payment_language(request, payment)
    return {
        "payment": payment,
        "agency": payment.tenant.name,
        "amount": format_money(payment.amount, payment.currency, language),
        **extra,
    }


UNKNOWN_CARD_MESSAGE = _(
    "This is not a sandbox test card. Use 4242 4242 4242 4242 to pay, "
    "4000 0000 0000 0002 for a decline, or 4000 0000 0000 0119 for an error"
)


@never_cache
@require_http_methods(["GET", "POST"])
def payment_page(request, token: str):
    payment = selectors.payment_by_hosted_token(token)
    if payment is None:
        raise Http404("No such payment page")
    with tenant_scope(payment.tenant):
        if payment.provider != "sandbox":
            return _page(request, "payment_status.html", _context(request, payment))
        if not _payable(payment):
            return _refuse(request, payment)
        if request.method == "GET":
            payment = services.record_payment_page_visit(payment=payment)
            return _card_form_page(request, payment, CardForm())
        form = CardForm(request.POST)
        if not form.is_valid():
            return _card_form_page(request, payment, form)
        try:
            payment = pay_with_test_card(
                payment=payment, card_number=form.cleaned_data["card_number"]
            )
        except UnknownTestCard:
            form.add_error("card_number", UNKNOWN_CARD_MESSAGE)
            return _card_form_page(request, payment, form)
        except PaymentNotPayable:
            return _refuse(request, payment)
        # Only a successful payment goes straight back to the agency; a declined card or
        # a processing error is explained here first, with the way back to the agency.
        if payment.state == PaymentState.SUCCESS and payment.return_url:
            return HttpResponseRedirect(payment.return_url, status=303)
        return _page(request, "payment_status.html", _context(request, payment))


@never_cache
@require_http_methods(["POST"])
def cancel_payment_page(request, token: str):
    """The payer chose not to pay: cancel the payment and go back to the agency.

    A POST (a button, not a link), so that a browser prefetching links or a mail scanner
    opening the page can never cancel someone's payment.
    """
    payment = selectors.payment_by_hosted_token(token)
    if payment is None:
        raise Http404("No such payment page")
    with tenant_scope(payment.tenant):
        if payment.provider != "sandbox" or not _payable(payment):
            return _refuse(request, payment)
        try:
            payment = services.cancel_payment(payment=payment, source="payment_page")
        except Conflict:
            payment.refresh_from_db()
            return _refuse(request, payment)
        if payment.return_url:
            return HttpResponseRedirect(payment.return_url, status=303)
        return _page(request, "payment_status.html", _context(request, payment))


def _card_form_page(request, payment: Payment, form: CardForm):
    return _page(
        request,
        "payment_page.html",
        _context(request, payment, form=form, test_cards=TEST_CARDS),
    )


def _refuse(request, payment: Payment):
    if payment.state in PAYABLE:
        # Past its time but the beat job has not run yet: expire it now.
        services.expire_payment(payment=payment)
        payment.refresh_from_db()
    return _page(request, "payment_unavailable.html", _context(request, payment), status=410)
