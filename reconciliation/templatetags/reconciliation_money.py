from django import template

from reconciliation.reports.cells import money_text

register = template.Library()


@register.filter
def money(minor, currency: str) -> str:
    """{{ amount|money:"EUR" }}: minor units shown in major units ("12.50")."""
    return money_text(minor, currency)
