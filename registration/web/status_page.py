"""The notifier's status page: what happened after they told government once.

Reached with the tell-us-once reference and the secret the reporting agency handed the
notifier. Both travel in a POSTed form, never in the URL (access logs, browser history,
Referer). Looks are rate-limited per reference and per client address, so the secret
cannot be guessed by trying; a wrong pair answers the same whichever half was wrong.
Plain server-rendered HTML, usable without JavaScript, like the payment page.
"""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hub.api.throttling import count_in_window
from hub.audit import client_address
from hub.crypto import keyed_hash
from registration import selectors
from registration.rules.life_events import KINDS

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# Per client address: several notifiers may share an office's address.
ATTEMPTS_PER_ADDRESS_FACTOR = 4

OUTCOME_WORDS = {
    "actioned": "Done",
    "no_action_needed": "No action needed",
    "needs_contact": "They will contact you",
    "not_ours": "Not for them",
}


class StatusForm(forms.Form):
    reference = forms.CharField(
        label="Tell us once reference",
        max_length=20,
        help_text="For example, TUO-7KQ3-M9XA",
        error_messages={"required": "Enter your tell us once reference"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label="Secret code",
        max_length=100,
        help_text="The code you were given with the reference",
        error_messages={"required": "Enter your secret code"},
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _page(request, template: str, context: dict, status: int = 200):
    response = render(request, f"registration/{template}", context, status=status)
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


def journey_rows(life_event) -> list[dict]:
    today = timezone.localdate()
    rows = []
    for told in selectors.life_event_journey(life_event):
        if told.outcome:
            state = OUTCOME_WORDS[told.outcome]
        elif told.due_on < today:
            state = "Overdue"
        else:
            state = "Waiting for an answer"
        rows.append({"told": told, "state": state})
    return rows


@never_cache
@require_http_methods(["GET", "POST"])
def status_page(request):
    if request.method == "GET":
        return _page(request, "status_lookup.html", {"form": StatusForm()})
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _page(request, "status_lookup.html", {"form": form})
    reference, secret = form.cleaned_data["reference"], form.cleaned_data["secret"]
    wait = _over_budget(request, reference)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        response = _page(request, "status_rate_limited.html", {"minutes": minutes}, status=429)
        response["Retry-After"] = str(math.ceil(wait))
        return response
    report = selectors.notifier_report(reference, secret)
    if report is None:
        form.add_error(
            None,
            "The reference and secret code do not match. Check both and try again.",
        )
        return _page(request, "status_lookup.html", {"form": form}, status=200)
    life_event = report.life_event
    context = {
        "report": report,
        "life_event": life_event,
        "kind_label": KINDS[life_event.kind].label,
        "person": life_event.constituent.name,
        "rows": journey_rows(life_event),
        "offers": selectors.life_event_offers(life_event),
    }
    return _page(request, "status_page.html", context)
