"""A notice's subject and body: a template per kind, agency and language.

Lookup, most specific first (``select_template``), for the subject and the body alike:

    notifications/agencies/<agency slug>/<kind>/body.<language>.txt
    notifications/agencies/<agency slug>/<kind>/body.txt
    notifications/<kind>/body.<language>.txt
    notifications/<kind>/body.txt

The hub ships the last: one template per kind whose strings are translated through the
app's catalogues (notifications/locale), rendered with the notice's language active. An
agency (or an operator for it) may put its own wording in a template directory of the
deployment (TEMPLATES DIRS) under the agency's slug, for all languages or for one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import select_template
from django.utils import translation

from notifications.kinds import NoticeKind


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


def template_names(kind: str, part: str, *, agency_slug: str, language: str) -> list[str]:
    return [
        f"notifications/agencies/{agency_slug}/{kind}/{part}.{language}.txt",
        f"notifications/agencies/{agency_slug}/{kind}/{part}.txt",
        f"notifications/{kind}/{part}.{language}.txt",
        f"notifications/{kind}/{part}.txt",
    ]


def render_notice(*, kind: NoticeKind, tenant, language: str, context: dict) -> RenderedNotice:
    names = {
        part: template_names(str(kind), part, agency_slug=tenant.slug, language=language)
        for part in ("subject", "body")
    }
    with translation.override(language):
        subject = select_template(names["subject"]).render(context)
        body = select_template(names["body"]).render(context)
    # A subject is one line, whatever the template's line breaks.
    return RenderedNotice(subject=" ".join(subject.split()), body=body.strip() + "\n")
