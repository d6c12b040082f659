from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # Registers the event types and the subscribers.
        from reconciliation import events, subscribers  # noqa: F401
