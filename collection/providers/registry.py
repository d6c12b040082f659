"""Collection's provider registry: ``@registry.register("bank_file")`` on a
``CollectionProviderPlugin`` subclass."""

from __future__ import annotations

from collection.providers.base import CollectionProviderPlugin
from hub.plugins import PluginRegistry

registry: PluginRegistry[CollectionProviderPlugin] = PluginRegistry("collection provider")


def get_collector(identifier: str) -> CollectionProviderPlugin:
    """The plugin for ``identifier``; LookupError names a provider nobody registered."""
    return registry[identifier]
