from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Constituent registry"

    def ready(self) -> None:
        from registration import events, tasks  # noqa: F401  (event types, beat task)
