"""Admin columns every app's ModelAdmin shares.

They live in hub, not in tenants/admin_scoping.py, because they format money with
hub/money.py and tenants (the bottom layer) imports nothing from hub.
"""

from __future__ import annotations

from django.contrib import admin

from hub.money import format_money


def money_column(amount_field: str = "amount", currency_field: str = "currency", label=None):
    """An admin column showing money as people write it ("€12,50"), sorted by amount.

    ``currency_field`` may follow relations ("payment.currency") for models that keep
    their currency on the parent.
    """

    @admin.display(description=label or amount_field.replace("_", " "), ordering=amount_field)
    def column(self, obj) -> str:
        currency = obj
        for part in currency_field.split("."):
            currency = getattr(currency, part)
        return format_money(getattr(obj, amount_field), currency)

    return column
