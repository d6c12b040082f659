"""Payments' section of the subject-access export (hub/subject_access.py)."""

from __future__ import annotations

from hub.money import format_money
from hub.subject_access import register_section
from payments.models import Payment
from tenants.scope import all_tenants


@register_section(
    "payments",
    "Payments",
    order=200,
    columns=(
        ("created_at", "When"),
        ("agency_name", "Agency"),
        ("description", "For"),
        ("amount_formatted", "Amount"),
        ("state", "State"),
        ("reference", "Reference"),
    ),
)
def payments_of(constituent_id: str) -> list[dict]:
    # The person's payments to every agency: the export is the person's, not one agency's.
    with all_tenants():
        rows = Payment.objects.filter(constituent_id=constituent_id).select_related("tenant")
        return [
            {
                "id": p.pk,
                "created_at": p.created_at.isoformat().replace("+00:00", "Z"),
                "agency": p.tenant.slug,
                "agency_name": p.tenant.name,
                "description": p.description,
                "amount": p.amount,
                "currency": p.currency,
                "amount_formatted": format_money(p.amount, p.currency),
                "state": p.state,
                "reference": p.reference,
                "email": p.email,
            }
            for p in rows.order_by("created_at", "pk")
        ]
