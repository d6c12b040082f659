"""The provider registry: ``@registry.register("stripe")`` on a ``PaymentProvider``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from payments.providers.base import PaymentProvider


class ProviderRegistry:
    def __init__(self) -> None:
        self._plugins: dict[str, PaymentProvider] = {}

    def register(self, identifier: str) -> Callable[[type[PaymentProvider]], type]:
        def decorator(plugin_class: type[PaymentProvider]) -> type[PaymentProvider]:
            if identifier in self._plugins:
                raise ValueError(f"payment provider {identifier!r} is already registered")
            self._plugins[identifier] = plugin_class(identifier)
            return plugin_class

        return decorator

    def get(self, identifier: str) -> PaymentProvider | None:
        return self._plugins.get(identifier)

    def __getitem__(self, identifier: str) -> PaymentProvider:
        return self._plugins[identifier]

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._plugins

    def __iter__(self) -> Iterator[PaymentProvider]:
        return iter(self._plugins.values())

    def choices(self) -> list[tuple[str, str]]:
        return [(plugin.identifier, plugin.label) for plugin in self]


registry = ProviderRegistry()

DEFAULT_PROVIDER = "sandbox"
