"""The subject-access export (GDPR article 15), audited in every agency it discloses."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import transaction

from hub import audit
from registration import subject_access
from registration.models import Constituent
from tenants.models import Tenant
from tenants.scope import all_tenants

logger = logging.getLogger(__name__)
EXPORT_ACTION = "subject access export"


@dataclass(frozen=True)
class SubjectAccessExport:
    document: dict
    json_bytes: bytes
    html: str
    sha256: str


@transaction.atomic
def export_subject_access(
    *,
    constituent: Constituent,
    actor_kind: str,
    actor_id: str,
    actor_label: str,
    channel: str,
    remote_addr: str | None = None,
) -> SubjectAccessExport:
    """Everything the hub holds on the person, as JSON and readable HTML.

    Handing over a person's whole record is itself a disclosure: every agency whose
    records the export contains gets an entry in its audit trail (who exported, when,
    through which channel, which sections with how many rows, the document's SHA-256),
    never the personal data itself. Built and audited in one transaction: no export
    leaves the hub unaudited."""
    constituent = Constituent.objects.get(pk=constituent.pk)  # as it is now, not as handed
    document = subject_access.report(constituent)
    json_bytes = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode()
    digest = hashlib.sha256(json_bytes).hexdigest()
    counts = {section["key"]: len(section["rows"]) for section in document["sections"]}
    slugs = subject_access.agencies_named(document)
    with all_tenants():
        tenants = list(Tenant.objects.filter(slug__in=slugs).order_by("slug"))
    for tenant in tenants:
        audit.record(
            tenant=tenant,
            actor_kind=actor_kind,
            actor_id=actor_id,
            actor_label=actor_label,
            action=EXPORT_ACTION,
            object_type=Constituent._meta.label,
            object_id=constituent.pk,
            summary=f"Subject-access export (GDPR art. 15) through {channel}",
            changes={"channel": channel, "sha256": digest, "rows": counts},
            remote_addr=remote_addr,
        )
    if not tenants:
        # Nothing of any agency in it (a record every registration of which was erased):
        # there is no agency trail to write to, so the operator's log keeps the fact.
        logger.warning(
            "subject-access export of %s by %s named no agency", constituent.pk, actor_label
        )
    return SubjectAccessExport(document, json_bytes, subject_access.render_html(document), digest)
