"""The access log: every read of a person's record by an agency, written as it happens."""

from __future__ import annotations

from collections.abc import Iterable

from registration.models import ConstituentAccess, Registration
from tenants.models import ApiKey, Tenant
from tenants.scope import all_tenants


def record_reads(
    *,
    tenant: Tenant,
    api_key: ApiKey | None,
    constituent_ids: Iterable[str],
    action: str,
    request_id: str = "",
) -> int:
    """Log that ``tenant`` was shown these constituents; one INSERT for a page of them.

    Each row carries the purpose of the registration that entitled the agency to the
    read, as it stood then."""
    constituent_ids = list(dict.fromkeys(constituent_ids))
    if not constituent_ids:
        return 0
    # Written for the agency named, from its request's scope or a job's.
    with all_tenants():
        registrations = {
            registration.constituent_id: registration
            for registration in Registration.objects.filter(
                tenant=tenant,
                constituent_id__in=constituent_ids,
                status=Registration.Status.ACTIVE,
            )
        }
        rows = [
            ConstituentAccess(
                tenant=tenant,
                constituent_id=pk,
                registration=registrations.get(pk),
                purpose=getattr(registrations.get(pk), "purpose", ""),
                legal_basis=getattr(registrations.get(pk), "legal_basis", ""),
                action=action,
                api_key_id=api_key.pk if api_key else "",
                api_key_label=f"{api_key.prefix}… ({api_key.name})"[:200] if api_key else "",
                request_id=request_id[:128],
            )
            for pk in constituent_ids
        ]
        ConstituentAccess.objects.bulk_create(rows)
    return len(rows)
