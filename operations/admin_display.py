"""How every admin page shows two kinds of value, whichever app's ModelAdmin shows them:

- a time in the operator's zone (hub/observability/operator_time.py) in a ``<time>``
  element whose tooltip gives it in UTC, the zone of the API and the logs;
- a JSON field indented on a change page (``<pre>``) instead of one long line.

Django's admin formats every field through ``display_for_field``; the list and the
change page each import it by name, so both names are wrapped here, once, at start-up.
"""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.admin import helpers
from django.contrib.admin.templatetags import admin_list
from django.db import models
from django.utils import timezone
from django.utils.html import format_html

_JSON_PREVIEW = 120  # characters of a JSON field shown in a list column


def utc_title(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def time_element(value: dt.datetime, shown: str):
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(dt.UTC).isoformat(),
        utc_title(value),
        shown,
    )


def _wrap(display_for_field, *, in_list: bool):
    def display(value, field, empty_value_display, *args, **kwargs):
        shown = display_for_field(value, field, empty_value_display, *args, **kwargs)
        if (
            isinstance(field, models.DateTimeField)
            and isinstance(value, dt.datetime)
            and timezone.is_aware(value)
        ):
            return time_element(value, shown)
        if isinstance(field, models.JSONField) and value is not None:
            text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
            if in_list:
                compact = json.dumps(value, ensure_ascii=False, default=str)
                if len(compact) > _JSON_PREVIEW:
                    compact = compact[: _JSON_PREVIEW - 1] + "…"
                return format_html('<code title="{}">{}</code>', text, compact)
            return format_html('<pre class="hub-json">{}</pre>', text)
        return shown

    display.hub_wrapped = True
    return display


def install() -> None:
    if getattr(admin_list.display_for_field, "hub_wrapped", False):
        return
    admin_list.display_for_field = _wrap(admin_list.display_for_field, in_list=True)
    helpers.display_for_field = _wrap(helpers.display_for_field, in_list=False)
