"""The notifier's status page: what happened after they told government once.

Reached with the tell-us-once reference and the secret the reporting agency handed the
notifier. Both travel in a POSTed form, never in the URL (access logs, browser history,
Referer). Looks are rate-limited per reference and per client address, so the secret
cannot be guessed by trying; a wrong pair answers the same whichever half was wrong.
Plain server-rendered HTML, usable without JavaScript, like the payment page.

In English, Dutch or Welsh, like the payment pages (hub/i18n.py): the language the
citizen picked with the switcher, else the constituent's own ``language`` once the pair
matched, else the browser's Accept-Language, else English. The switcher on the lookup
form is a plain link (nothing secret is on that page yet); on the result it posts the
reference and secret again, so they still never appear in an address.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hub.api.throttling import count_in_window
from hub.audit import client_address
from hub.crypto import keyed_hash
from hub.i18n import CITIZEN_LANGUAGES, format_date, page_language
from registration import selectors
from tenants.models import Language

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# Per client address: several notifiers may share an office's address.
ATTEMPTS_PER_ADDRESS_FACTOR = 4

LANGUAGE_NAMES = dict(Language.choices)  # each in its own language: "Cymraeg"

# What each agency's answer means to the notifier (the API's outcome codes).
OUTCOME_WORDS = {
    "actioned": _("Done"),
    "no_action_needed": _("No action needed"),
    "needs_contact": _("They will contact you"),
    "not_ours": _("Not for them"),
}
# The life event kinds as the notifier reads them. The kinds' own labels
# (registration.rules.life_events) are the API's and the operators', in English.
KIND_NAMES = {
    "death": _("Death"),
    "birth": _("Birth"),
    "marriage": _("Marriage"),
    "civil_partnership": _("Civil partnership"),
    "partnership_ended": _("Divorce or dissolution"),
    "job_loss": _("Loss of a job"),
    "business_started": _("Business started"),
    "business_ceased": _("Business closed"),
    "address_change": _("Move"),
    "name_change": _("Change of name"),
}


class StatusForm(forms.Form):
    # Empty until the citizen picks a language with the switcher: only a choice made on
    # the page outranks the constituent's own language.
    language = forms.ChoiceField(
        choices=[("", ""), *Language.choices], required=False, widget=forms.HiddenInput
    )
    reference = forms.CharField(
        label=_("Tell us once reference"),
        max_length=20,
        help_text=_("For example, TUO-7KQ3-M9XA"),
        error_messages={
            "required": _("Enter your tell us once reference"),
            "max_length": _("The reference must be %(limit_value)d characters or fewer"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Secret code"),
        max_length=100,
        help_text=_("The code you were given with the reference"),
        error_messages={
            "required": _("Enter your secret code"),
            "max_length": _("The secret code must be %(limit_value)d characters or fewer"),
        },
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def chosen_language(request) -> str:
    """The language the citizen picked on the page (switcher link or form), or ""."""
    asked = request.POST.get("language", "") if request.method == "POST" else ""
    asked = asked or request.GET.get("lang", "")
    return asked if asked in CITIZEN_LANGUAGES else ""


def status_language(request, constituent=None) -> str:
    """The citizen's pick, else the constituent's language, else the browser's, else
    English. The constituent is passed only once reference and secret matched: a wrong
    pair must not tell the caller which language the person reads."""
    chosen = chosen_language(request) or (constituent.language if constituent else "")
    return page_language(request, chosen=chosen, fallback=Language.ENGLISH)


def _switcher(language: str, *, repost: bool) -> list[dict]:
    return [
        {"code": code, "name": LANGUAGE_NAMES[code], "url": f"?lang={code}", "repost": repost}
        for code in CITIZEN_LANGUAGES
        if code != language
    ]


def _page(request, template: str, context: dict, *, language: str, status: int = 200):
    with translation.override(language):
        response = render(request, f"registration/{template}", context, status=status)
    response["Content-Language"] = language
    # The same address answers in another language for another browser.
    patch_vary_headers(response, ["Accept-Language"])
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _over_budget(request, reference: str) -> float | None:
    """Seconds to wait when this look exceeds a budget, else None."""
    window = settings.HUB_STATUS_PAGE_WINDOW_SECONDS
    limit = settings.HUB_STATUS_PAGE_ATTEMPTS
    # Keyed hashes: the cache never holds a reference or an address in clear.
    by_reference = keyed_hash(reference.strip().upper(), purpose="status-page-reference")
    by_address = keyed_hash(client_address(request) or "-", purpose="status-page-address")
    waits = []
    count, remaining = count_in_window(f"tuo:ref:{by_reference}", window)
    if count > limit:
        waits.append(remaining)
    count, remaining = count_in_window(f"tuo:addr:{by_address}", window)
    if count > limit * ATTEMPTS_PER_ADDRESS_FACTOR:
        waits.append(remaining)
    return max(waits) if waits else None


def journey_rows(life_event, language: str) -> list[dict]:
    """Each agency told: when, and its answer ("answered", "overdue" or "waiting")."""
    today = timezone.localdate()
    rows = []
    for told in selectors.life_event_journey(life_event):
        if told.outcome:
            state, outcome = "answered", OUTCOME_WORDS[told.outcome]
        elif told.due_on < today:
            state, outcome = "overdue", ""
        else:
            state, outcome = "waiting", ""
        rows.append(
            {
                "told": told,
                "state": state,
                "outcome": outcome,
                "told_on": format_date(told.told_at, language),
                "due_on": format_date(told.due_on, language),
            }
        )
    return rows


@never_cache
@require_http_methods(["GET", "POST"])
def status_page(request):
    language = status_language(request)
    if request.method == "GET":
        form = StatusForm(initial={"language": chosen_language(request)})
        return _lookup_page(request, form, language=language)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _lookup_page(request, form, language=language)
    reference, secret = form.cleaned_data["reference"], form.cleaned_data["secret"]
    wait = _over_budget(request, reference)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        response = _page(
            request,
            "status_rate_limited.html",
            {"minutes": minutes},
            language=language,
            status=429,
        )
        response["Retry-After"] = str(math.ceil(wait))
        return response
    report = selectors.notifier_report(reference, secret)
    if report is None:
        form.add_error(
            None, _("The reference and secret code do not match. Check both and try again.")
        )
        return _lookup_page(request, form, language=language)
    life_event = report.life_event
    language = status_language(request, life_event.constituent)
    context = {
        "report": report,
        "life_event": life_event,
        "kind_name": KIND_NAMES.get(life_event.kind, life_event.kind),
        "person": life_event.constituent.name,
        "occurred_on": format_date(life_event.occurred_on, language),
        "reported_on": format_date(report.reported_at, language),
        "rows": journey_rows(life_event, language),
        "offers": selectors.life_event_offers(life_event),
        # The switcher posts the pair again (hidden fields of this no-store page), so
        # changing language keeps them out of the address. Each switch is a look and
        # counts against the budget like any other.
        "other_languages": _switcher(language, repost=True),
        "reference": reference,
        "secret": secret,
    }
    return _page(request, "status_page.html", context, language=language)


def _lookup_page(request, form: StatusForm, *, language: str):
    context = {"form": form, "other_languages": _switcher(language, repost=False)}
    return _page(request, "status_lookup.html", context, language=language)
