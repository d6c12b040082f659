from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"
    verbose_name = "Notices to citizens"

    def ready(self) -> None:
        from notifications import subscribers  # noqa: F401  (registers the subscribers)
