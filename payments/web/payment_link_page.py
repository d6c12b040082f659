"""``/pay/link/<slug>/``: a payment link's public page (GOV.UK Pay's payment links).

Plain HTML, usable without JavaScript, like the hosted payment page. The citizen gives
the reference the agency asks for (and the amount, when the link does not fix it); the
hub then creates an ordinary payment and sends the citizen on to its hosted payment
page, in the same language. A disabled or expired link answers 410 and says which.

The page is public, so what it creates is rate-limited: per link (one shared address
cannot be used to flood an agency with payments) and per client address (one client
cannot walk through every link). Only the submissions count; showing the page is free.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hub.api.throttling import count_in_window
from hub.errors import ProviderUnavailable
from hub.i18n import CITIZEN_LANGUAGES, format_date, page_language
from hub.money import format_money, minor_unit_exponent
from payments import selectors, services
from payments.models import PaymentLink
from payments.rules import payment_links as rules
from payments.web.payment_page import CONTENT_SECURITY_POLICY, citizen_page
from tenants.models import Language
from tenants.scope import tenant_scope

LANGUAGE_NAMES = dict(Language.choices)
PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def _rate(text: str) -> tuple[int, int]:
    """ "10/min" → (10, 60), as DRF writes rates."""
    count, _slash, period = text.partition("/")
    return int(count), PERIODS[period.strip().lower()]


def _allowed(request, link: PaymentLink) -> bool:
    """Count this submission per link and per client address; False once either is over."""
    per_link, link_period = _rate(settings.HUB_PAYMENT_LINK_RATE_PER_LINK)
    per_client, client_period = _rate(settings.HUB_PAYMENT_LINK_RATE_PER_CLIENT)
    client = request.META.get("REMOTE_ADDR") or "unknown"
    link_count, _remaining = count_in_window(f"payment-link:{link.pk}", link_period)
    client_count, _remaining = count_in_window(f"payment-link-client:{client}", client_period)
    return link_count <= per_link and client_count <= per_client


class LinkForm(forms.Form):
    """The reference (and amount) the link asks for; what the page shows as errors."""

    language = forms.ChoiceField(choices=Language.choices, widget=forms.HiddenInput)
    reference = forms.CharField(
        max_length=rules.MAX_REFERENCE_LENGTH,
        error_messages={
            "required": _("Enter the reference"),
            "max_length": _("The reference must be %(limit_value)d characters or fewer"),
        },
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    amount = forms.CharField(
        max_length=20,
        required=False,
        label=_("Amount"),
        error_messages={"max_length": _("Enter the amount in numbers, for example 12.50")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, link: PaymentLink, text: dict, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.link = link
        self.language = language
        self.fields["reference"].label = text["reference_label"]
        self.fields["reference"].help_text = text["reference_hint"]
        if link.fixed_amount:
            del self.fields["amount"]
        else:
            self.fields["amount"].required = True
            self.fields["amount"].error_messages["required"] = _("Enter the amount")
            self.fields["amount"].help_text = _("Between %(minimum)s and %(maximum)s") % {
                "minimum": format_money(link.min_amount, link.currency, language),
                "maximum": format_money(link.max_amount, link.currency, language),
            }

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip()
        if not rules.reference_matches(self.link.reference_pattern, reference):
            raise forms.ValidationError(
                _("Enter the reference exactly as it is written on your letter or invoice")
            )
        return reference

    def clean_amount(self) -> int | None:
        text = self.cleaned_data.get("amount", "")
        if self.link.fixed_amount:
            return None
        try:
            minor = rules.parse_amount(text, minor_unit_exponent(self.link.currency))
        except rules.AmountNotUnderstood:
            raise forms.ValidationError(
                _("Enter the amount in numbers, for example 12.50")
            ) from None
        money = {
            "minimum": format_money(self.link.min_amount, self.link.currency, self.language),
            "maximum": format_money(self.link.max_amount, self.link.currency, self.language),
        }
        problem = rules.AmountRange(self.link.min_amount, self.link.max_amount).problem(minor)
        if problem == "too_small":
            raise forms.ValidationError(_("The amount must be %(minimum)s or more") % money)
        if problem == "too_large":
            raise forms.ValidationError(_("The amount must be %(maximum)s or less") % money)
        return minor


def _link_language(request, link: PaymentLink, asked: str = "") -> str:
    """The language the citizen chose on the page, else their browser's, among the
    link's languages; else the link's first language (its default)."""
    offered = tuple(link.languages) or CITIZEN_LANGUAGES
    fallback = link.languages[0] if link.languages else link.tenant.default_language
    return page_language(request, chosen=asked, offered=offered, fallback=fallback)


def _send_to_payment_page(payment) -> HttpResponseRedirect:
    # The sandbox's page is the hub's own: a path keeps the citizen on the address they
    # used. A provider's page (Stripe Checkout) is its next_url.
    if payment.provider == "sandbox" and payment.hosted_token:
        return HttpResponseRedirect(
            reverse("payments-hosted-page", args=[payment.hosted_token]), status=303
        )
    return HttpResponseRedirect(payment.next_url, status=303)


def _render(request, link, template, context, *, language, status=200):
    text = link.text_in(language)
    offered = tuple(link.languages) or CITIZEN_LANGUAGES
    base = {
        "link": link,
        "text": text,
        "agency": link.tenant.name,
        "other_languages": [
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "url": f"?{urlencode({'lang': code})}",
            }
            for code in offered
            if code != language
        ]
        if len(offered) > 1
        else [],
        **context,
    }
    response = citizen_page(request, template, base, status=status, language=language)
    # The form posts here and is redirected on to the payment page: the hub's own for
    # the sandbox, the provider's (Stripe Checkout) otherwise; Chromium checks the
    # redirect against form-action too.
    targets = ["'self'", *settings.HUB_PAYMENT_LINK_FORM_TARGETS]
    response["Content-Security-Policy"] = (
        f"{CONTENT_SECURITY_POLICY}; form-action {' '.join(targets)}"
    )
    return response


def _unavailable(request, link, reason: str, *, language: str):
    expired_on = format_date(link.expires_at, language) if link.expires_at else ""
    return _render(
        request,
        link,
        "payment_link_unavailable.html",
        {"reason": reason, "expired_on": expired_on},
        language=language,
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def payment_link_page(request, slug: str):
    link = selectors.payment_link_by_slug(slug)
    if link is None:
        raise Http404("No such payment link")
    with tenant_scope(link.tenant):
        asked = request.POST.get("language", "") if request.method == "POST" else ""
        language = _link_language(request, link, asked or request.GET.get("lang", ""))
        with translation.override(language):
            return _answer(request, link, language)


def _answer(request, link: PaymentLink, language: str):
    try:
        services.check_link_usable(link)
    except services.LinkUnavailable as refused:
        return _unavailable(request, link, refused.reason, language=language)
    text = link.text_in(language)
    if request.method == "GET":
        initial = {"language": language, **_prefilled(request, link, language)}
        form = LinkForm(initial=initial, link=link, text=text, language=language)
        return _form_page(request, link, form, language=language)
    if not _allowed(request, link):
        return _render(request, link, "payment_link_busy.html", {}, language=language, status=429)
    form = LinkForm(request.POST, link=link, text=text, language=language)
    if not form.is_valid():
        return _form_page(request, link, form, language=language, status=400)
    try:
        payment = services.pay_by_link(
            link=link,
            reference=form.cleaned_data["reference"],
            amount=form.cleaned_data.get("amount"),
            language=language,
        )
    except services.LinkUnavailable as refused:
        return _unavailable(request, link, refused.reason, language=language)
    except ProviderUnavailable:
        form.add_error(None, _("Sorry, payments are not working right now. Try again later."))
        return _form_page(request, link, form, language=language, status=503)
    return _send_to_payment_page(payment)


def _prefilled(request, link: PaymentLink, language: str) -> dict:
    """What a reminder's link fills in (``?reference=…&amount=<minor units>``): shown in
    the form for the citizen to check, and validated like anything typed when sent."""
    initial = {}
    reference = request.GET.get("reference", "")
    if reference and len(reference) <= rules.MAX_REFERENCE_LENGTH:
        initial["reference"] = reference
    amount = request.GET.get("amount", "")
    if not link.fixed_amount and amount.isascii() and amount.isdigit() and len(amount) <= 15:
        initial["amount"] = _amount_as_typed(int(amount), link.currency, language)
    return initial


def _amount_as_typed(minor: int, currency: str, language: str) -> str:
    """Minor units as a citizen of ``language`` types them: "85.50", in Dutch "85,50"."""
    places = minor_unit_exponent(currency)
    whole, fraction = divmod(minor, 10**places)
    if not places:
        return str(whole)
    mark = "," if language == Language.DUTCH else "."
    return f"{whole}{mark}{fraction:0{places}d}"


def _form_page(request, link: PaymentLink, form: LinkForm, *, language: str, status=200):
    context = {
        "form": form,
        "amount": format_money(link.amount, link.currency, language) if link.fixed_amount else "",
    }
    return _render(
        request, link, "payment_link_page.html", context, language=language, status=status
    )
