from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Constituent registry"

    def ready(self) -> None:
        from registration import events  # noqa: F401  (registers the event types)
