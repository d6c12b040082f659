from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # Registers the event types, the subscribers and the ``__any`` lookup.
        from reconciliation import events, id_lists, subscribers  # noqa: F401
