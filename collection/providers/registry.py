"""``@registry.register("bank_file")`` on a ``CollectionProviderPlugin`` subclass."""

from __future__ import annotations

from collection.providers.base import CollectionProviderPlugin


class CollectorRegistry:
    def __init__(self) -> None:
        self._plugins: dict[str, CollectionProviderPlugin] = {}

    def register(self, identifier: str):
        def decorator(plugin_class: type[CollectionProviderPlugin]):
            if identifier in self._plugins:
                raise ValueError(f"collection provider {identifier!r} is already registered")
            plugin = plugin_class()
            plugin.identifier = identifier
            self._plugins[identifier] = plugin
            return plugin_class

        return decorator

    def get(self, identifier: str) -> CollectionProviderPlugin | None:
        return self._plugins.get(identifier)


registry = CollectorRegistry()


def get_collector(identifier: str) -> CollectionProviderPlugin:
    plugin = registry.get(identifier)
    if plugin is None:
        raise LookupError(f"no collection provider {identifier!r}")
    return plugin
