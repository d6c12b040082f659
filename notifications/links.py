"""How a reminder tells the citizen to pay: a payment link where the agency has one.

Payment links live below this app (payments), which cannot import it, so the link for a
debt is found through a setting: ``HUB_NOTICE_PAYMENT_LINK_RESOLVER``, the dotted path
of a function ``(tenant, debt) -> absolute URL or None`` (for example one in
``payments.selectors``). Tests and plug-ins may also register one. Without a resolver,
or when it answers None, the notice tells the citizen to pay with the agency's reference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

PaymentLinkResolver = Callable[[object, object], str | None]
_resolvers: list[PaymentLinkResolver] = []


def register_payment_link_resolver(resolver: PaymentLinkResolver) -> PaymentLinkResolver:
    if resolver not in _resolvers:
        _resolvers.append(resolver)
    return resolver


def unregister_payment_link_resolver(resolver: PaymentLinkResolver) -> None:
    if resolver in _resolvers:
        _resolvers.remove(resolver)


def _configured() -> list[PaymentLinkResolver]:
    path = getattr(settings, "HUB_NOTICE_PAYMENT_LINK_RESOLVER", "")
    return [import_string(path)] if path else []


def payment_link_for(tenant, debt) -> str | None:
    for resolver in [*_configured(), *_resolvers]:
        try:
            url = resolver(tenant, debt)
        except Exception:
            # A broken resolver must not stop the reminder: it falls back to the reference.
            logger.exception("payment link resolver %r failed", resolver)
            continue
        if url:
            return url
    return None
