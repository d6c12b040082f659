"""An agency's credentials with a payment provider (stored encrypted, never shown back)."""

from __future__ import annotations

from hub.errors import InvalidRequest
from payments.models import ProviderAccount
from tenants.scope import acting_for


def set_provider_credentials(
    *,
    account: ProviderAccount,
    secret_key: str | None = None,
    webhook_secret: str | None = None,
) -> ProviderAccount:
    """Store new credentials (encrypted). None keeps the current value: the admin never
    shows credentials back, so an empty field means "unchanged"."""
    if secret_key:
        if not secret_key.startswith(("sk_", "rk_")):
            raise InvalidRequest("A Stripe secret key starts with sk_ or rk_", field="secret_key")
        account.secret_key = secret_key.strip()
    if webhook_secret:
        if not webhook_secret.startswith("whsec_"):
            raise InvalidRequest(
                "A Stripe webhook signing secret starts with whsec_", field="webhook_secret"
            )
        account.webhook_secret = webhook_secret.strip()
    with acting_for(account.tenant):
        account.save()
    return account
