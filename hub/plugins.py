"""A registry of plugins by identifier: payments' providers, collection's collectors.

An app declares one registry per kind of plugin and each plugin module registers
its class with a decorator (``@registry.register("stripe")``); the app's
``providers/__init__`` imports the plugin modules so they are registered in every
process. The registry keeps one instance per identifier: plugins hold no per-call
state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

Plugin = TypeVar("Plugin")


class PluginRegistry(Generic[Plugin]):
    def __init__(self, kind: str) -> None:
        self.kind = kind  # "payment provider": named in errors
        self._plugins: dict[str, Plugin] = {}

    def register(self, identifier: str) -> Callable[[type[Plugin]], type[Plugin]]:
        def decorator(plugin_class: type[Plugin]) -> type[Plugin]:
            if identifier in self._plugins:
                raise ValueError(f"{self.kind} {identifier!r} is already registered")
            plugin = plugin_class()
            plugin.identifier = identifier
            self._plugins[identifier] = plugin
            return plugin_class

        return decorator

    def get(self, identifier: str) -> Plugin | None:
        return self._plugins.get(identifier)

    def __getitem__(self, identifier: str) -> Plugin:
        try:
            return self._plugins[identifier]
        except KeyError:
            raise LookupError(f"no {self.kind} {identifier!r}") from None

    def __contains__(self, identifier: object) -> bool:
        return identifier in self._plugins

    def __iter__(self) -> Iterator[Plugin]:
        return iter(self._plugins.values())

    def choices(self) -> list[tuple[str, str]]:
        """(identifier, label) pairs for a form or an admin filter."""
        return [
            (plugin.identifier, getattr(plugin, "label", "") or plugin.identifier)
            for plugin in self
        ]
