"""The hosted payment page (``next_url``): plain HTML, usable without JavaScript.

Whoever holds the URL's token may pay; nobody else can find the page. For the sandbox
it is where the payer types a test card; for Stripe it is only where Stripe sends the
payer back when the agency gave no return_url. The form is CSRF-protected, and a
finished or expired payment is refused (410) rather than paid twice.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from payments import selectors, services
from payments.models import Payment, PaymentState
from payments.providers.sandbox import (
    TEST_CARDS,
    PaymentNotPayable,
    UnknownTestCard,
    is_payable,
    pay_with_test_card,
)
from payments.state_machine import PAYABLE
from tenants.scope import tenant_scope

# The token is in the URL: never send it onwards in a Referer, never cache or index it.
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


class CardForm(forms.Form):
    card_number = forms.CharField(
        label="Card number",
        max_length=30,
        help_text="The long number on the front of the card",
        widget=forms.TextInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    expiry_month = forms.IntegerField(
        label="Expiry month",
        min_value=1,
        max_value=12,
        help_text="For example, 04",
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp-month", "inputmode": "numeric"}),
    )
    expiry_year = forms.IntegerField(
        label="Expiry year",
        min_value=0,
        max_value=2100,
        help_text="For example, 29",
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp-year", "inputmode": "numeric"}),
    )
    cardholder_name = forms.CharField(
        label="Name on card",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name", "spellcheck": "false"}),
    )
    security_code = forms.RegexField(
        label="Card security code",
        regex=r"^\d{3,4}$",
        help_text="The last 3 digits on the back of the card",
        error_messages={"invalid": "Enter the 3 or 4 digit card security code"},
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def clean_card_number(self) -> str:
        number = "".join(ch for ch in self.cleaned_data["card_number"] if ch not in " -")
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise forms.ValidationError("Enter a card number of 12 to 19 digits")
        return number

    def clean(self):
        cleaned = super().clean()
        month, year = cleaned.get("expiry_month"), cleaned.get("expiry_year")
        if month is not None and year is not None:
            year = year + 2000 if year < 100 else year
            today = timezone.localdate()
            if date(year, month, 1) < today.replace(day=1):
                self.add_error("expiry_month", "The card has expired: check the expiry date")
        return cleaned


def _page(request, template: str, context: dict, status: int = 200):
    response = render(request, f"payments/{template}", context, status=status)
    for name, value in SECURITY_HEADERS.items():
        response[name] = value
    return response


def _context(payment: Payment, **extra) -> dict:
    return {
        "payment": payment,
        "agency": payment.tenant.name,
        "amount": format_amount(payment.amount, payment.currency),
        **extra,
    }


def format_amount(amount: int, currency: str) -> str:
    # Display only: the payer reads "12.50 EUR"; money stays integer everywhere else.
    whole, cents = divmod(amount, 100)
    return f"{whole:,}.{cents:02d} {currency}"


@never_cache
@require_http_methods(["GET", "POST"])
def payment_page(request, token: str):
    payment = selectors.payment_by_hosted_token(token)
    if payment is None:
        raise Http404("No such payment page")
    with tenant_scope(payment.tenant):
        if payment.provider != "sandbox":
            return _page(request, "payment_status.html", _context(payment))
        if not is_payable(payment):
            return _refuse(request, payment)
        if request.method == "GET":
            payment = services.record_payment_page_visit(payment=payment)
            return _page(
                request,
                "payment_page.html",
                _context(payment, form=CardForm(), test_cards=TEST_CARDS),
            )
        form = CardForm(request.POST)
        if form.is_valid():
            try:
                payment = pay_with_test_card(
                    payment=payment, card_number=form.cleaned_data["card_number"]
                )
            except UnknownTestCard:
                form.add_error(
                    "card_number",
                    "This is not a sandbox test card. Use 4242 4242 4242 4242 to pay, "
                    "4000 0000 0000 0002 for a decline, or 4000 0000 0000 0119 for an error",
                )
            except PaymentNotPayable:
                return _refuse(request, payment)
            else:
                if payment.return_url:
                    return HttpResponseRedirect(payment.return_url, status=303)
                return _page(request, "payment_status.html", _context(payment))
        return _page(
            request, "payment_page.html", _context(payment, form=form, test_cards=TEST_CARDS)
        )


def _refuse(request, payment: Payment):
    if payment.state in PAYABLE:
        # Past its time but the beat job has not run yet: expire it now.
        services.expire_payment(payment=payment)
        payment.refresh_from_db()
    return _page(
        request,
        "payment_unavailable.html",
        _context(payment, paid=payment.state == PaymentState.SUCCESS),
        status=410,
    )
