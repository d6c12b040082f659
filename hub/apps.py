from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Hub platform"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        # Register checks, OpenAPI extensions, and the tasks hub/events/queue.py finds by name.
        # And the project-wide ``field__any=[…]`` lookup (hub/id_lists.py).
        from hub import checks, id_lists, schema_extensions, tasks  # noqa: F401
        from hub.audit import audit_admin_log_entry

        # Every admin change already writes Django's LogEntry; mirroring it here puts
        # admin changes into the same append-only trail as API writes, without each
        # app's admin having to remember to call us.
        post_save.connect(audit_admin_log_entry, sender=LogEntry, dispatch_uid="hub-audit-admin")

        from hub.observability import webhooks

        webhooks.connect()
