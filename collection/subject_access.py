"""Collections' sections of the subject-access export (hub/subject_access.py)."""

from __future__ import annotations

from collection.models import Debt, Mandate
from hub.money import format_money
from hub.subject_access import register_section
from tenants.scope import all_tenants


@register_section(
    "debts",
    "Debts",
    order=300,
    columns=(
        ("due_date", "Due"),
        ("agency_name", "Agency"),
        ("description", "For"),
        ("amount_formatted", "Owed"),
        ("balance_formatted", "Still to pay"),
        ("state", "State"),
        ("reference", "Reference"),
    ),
)
def debts_of(constituent_id: str) -> list[dict]:
    # The person's debts with every agency: the export is the person's.
    with all_tenants():
        rows = Debt.objects.filter(constituent_id=constituent_id).select_related("tenant")
        return [
            {
                "id": d.pk,
                "agency": d.tenant.slug,
                "agency_name": d.tenant.name,
                "reference": d.reference,
                "description": d.description,
                "amount": d.amount,
                "balance": d.balance,
                "currency": d.currency,
                "amount_formatted": format_money(d.amount, d.currency),
                "balance_formatted": format_money(d.balance, d.currency),
                "due_date": d.due_date.isoformat(),
                "state": d.state,
            }
            for d in rows.order_by("created_at", "pk")
        ]


@register_section(
    "mandates",
    "Direct-debit mandates",
    order=310,
    columns=(
        ("signed_on", "Signed"),
        ("agency_name", "Agency"),
        ("scheme", "Scheme"),
        ("account", "Account"),
        ("account_holder_name", "Account holder"),
        ("state", "State"),
    ),
)
def mandates_of(constituent_id: str) -> list[dict]:
    with all_tenants():
        rows = Mandate.objects.filter(constituent_id=constituent_id).select_related("tenant")
        return [
            {
                "id": m.pk,
                "agency": m.tenant.slug,
                "agency_name": m.tenant.name,
                "scheme": m.scheme,
                # The account in full is the person's own data; it is in the JSON copy
                # and the page for them (article 15), as the masked form shows elsewhere.
                "account": m.iban
                or f"{m.sort_code} {m.account_number}".strip()
                or m.account_masked,
                "account_holder_name": m.account_holder_name,
                "signed_on": m.signed_on.isoformat(),
                "state": m.state,
            }
            for m in rows.order_by("created_at", "pk")
        ]
