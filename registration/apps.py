from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Constituent registry"

    def ready(self) -> None:
        # The event types, the beat task, and the registry's sections of the
        # subject-access export.
        from registration import events, subject_access, tasks  # noqa: F401
