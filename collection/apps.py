from django.apps import AppConfig


class CollectionConfig(AppConfig):
    # Not "collections": an app of that name would shadow the standard library module.
    name = "collection"
    label = "collection"
    verbose_name = "Collections"

    def ready(self) -> None:
        # (registration; tasks too, so collection.services.runs finds its task by name)
        from collection import events, providers, subject_access, subscribers, tasks  # noqa: F401
        from collection.services.outcomes import provisional_until
        from payments import services as payments

        # Stripe-confirmed debits stay provisional for the scheme's own return window.
        payments.set_return_window_policy(provisional_until)
