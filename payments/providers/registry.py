"""Payments' provider registry: ``@registry.register("stripe")`` on a ``PaymentProvider``."""

from __future__ import annotations

from hub.plugins import PluginRegistry
from payments.providers.base import PaymentProvider

registry: PluginRegistry[PaymentProvider] = PluginRegistry("payment provider")

DEFAULT_PROVIDER = "sandbox"
