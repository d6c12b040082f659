from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Event types must be in the catalogue before endpoints subscribe to them, and
        # providers in the registry before the first payment is created.
        from payments import events, subject_access  # noqa: F401
        from payments.providers import sandbox, stripe_checkout  # noqa: F401
