from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # Registers the event types and the subscribers. Imported here, not at the top:
        # both modules import models, which Django allows only once the app registry is
        # ready (the AppConfig module itself is imported before any model).
        from reconciliation import events, subscribers  # noqa: F401
