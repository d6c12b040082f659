from django import template

from hub.money import format_money

register = template.Library()


@register.filter
def money(minor, currency: str) -> str:
    """{{ payment.amount|money:payment.currency }} → "€12,50"."""
    return format_money(minor, currency)
